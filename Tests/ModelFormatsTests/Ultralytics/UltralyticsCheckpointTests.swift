import Engine
import Foundation
import ModelFormats
import Testing
import TestSupport

/// Checkpoints made by the `ultralytics` package itself (Tests/Fixtures/ultralytics/
/// generate_ultralytics_fixtures.py: YOLO11, YOLOv8 and YOLOv9-c structures, narrowed, random weights with
/// realistic activations, released through ultralytics' own `strip_optimizer`), and YOLOv9-c in the
/// yolov9 repository's layout (Tests/Fixtures/yolov9: as trained with its DualDDetect head, and the
/// single-head layout), made with yolov9pip's classes. The expected raw
/// outputs are PyTorch's, in float32 (the reference's fused model) and float64.
struct UltralyticsCheckpointTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/ultralytics")
    /// The models of both generators, as "folder/name" under Tests/Fixtures.
    static let models = ["ultralytics/yolo11_tiny", "ultralytics/yolov8_tiny", "ultralytics/yolov9_tiny", "ultralytics/yolov9e_tiny",
                         "ultralytics/yolov10_tiny",
                         "ultralytics/yolov10_e2e_tiny", "yolov9/yolov9c_dual_tiny",
                         "yolov9/yolov9c_tiny"]

    static func location(_ model: String) -> (folder: URL, name: String) {
        let parts = model.split(separator: "/").map(String.init)
        return (Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/\(parts[0])"), parts[1])
    }

    static func entry(_ model: String) throws -> [String: Any] {
        let (folder, name) = location(model)
        let manifest = try Fixtures.jsonObject(at: folder.appendingPathComponent("manifest.json"))
        guard let entry = (manifest["models"] as? [String: Any])?[name] as? [String: Any] else {
            throw Fixtures.FixtureError.missing("ultralytics manifest has no model \(name)")
        }
        return entry
    }

    /// Worst error over the box rows (0-3, pixels) and the score rows (4...) of [1, 4 + classes, anchors].
    static func errors(_ a: Tensor, _ b: Tensor) -> (box: Float, score: Float) {
        let anchors = a.shape[2]
        var box: Float = 0, score: Float = 0
        for index in 0..<a.count {
            let error = abs(a.values[index] - b.values[index])
            if index / anchors < 4 { box = WorstError.combine(box, error) } else { score = WorstError.combine(score, error) }
        }
        return (box, score)
    }

    static func run(_ model: String, backend: ExecutionBackend) throws -> (ours: Tensor, fp32: Tensor, fp64: Tensor, model: LoadedModel) {
        let entry = try entry(model)
        let (folder, name) = location(model)
        let raw = entry["raw"] as? [String: Any]
        let model = try ModelLoader.load(path: folder.appendingPathComponent("\(name).pt").path, backend: backend)
        let input = try Fixtures.array(raw?["input"], scale: 1 / 255, in: folder)
        let output = try model.network.run([model.info.inputName: input])[model.info.outputName]!
        return (output, try Fixtures.array(raw?["fp32"], in: folder), try Fixtures.array(raw?["fp64"], in: folder), model)
    }

    /// Against float64, our error is of the order of PyTorch fp32's own (within 2x: oneDNN sums in
    /// another order), boxes and scores; and we stay within 0.01 px and 1e-5 of PyTorch fp32 itself.
    @Test(arguments: models)
    func rawOutputMatchesPyTorch(_ model: String) throws {
        let (ours, fp32, fp64, _) = try Self.run(model, backend: .oneDNN)
        #expect(ours.shape == fp32.shape)
        let versusTorch = Self.errors(ours, fp32)
        #expect(versusTorch.box <= 0.01 && versusTorch.score <= 1e-5, "\(versusTorch)")
        let ourError = Self.errors(ours, fp64), torchError = Self.errors(fp32, fp64)
        #expect(ourError.box <= torchError.box * 2, "ours \(ourError.box) px, PyTorch fp32 \(torchError.box) px")
        #expect(ourError.score <= max(torchError.score * 2, 4e-6), "ours \(ourError.score), PyTorch fp32 \(torchError.score)")
    }

    /// The plain implementation of every op (the attention and the anchor-free decode included).
    @Test func referenceBackendMatchesPyTorch() throws {
        for model in ["ultralytics/yolo11_tiny", "yolov9/yolov9c_dual_tiny"] {
            let (ours, fp32, _, _) = try Self.run(model, backend: .reference)
            let error = Self.errors(ours, fp32)
            #expect(error.box <= 0.01 && error.score <= 1e-5, "\(model): \(error)")
        }
    }

    @Test func describesTheModelFromTheFile() throws {
        let yolo11 = try ModelLoader.load(path: Self.folder.appendingPathComponent("yolo11_tiny.pt").path)
        #expect(yolo11.info.architecture.hasPrefix("YOLO11 (ultralytics"))
        #expect(yolo11.info.architecture.contains("model_type ultralytics"))
        #expect(yolo11.info.metadataImageSize == 640 && yolo11.info.defaultInputSize == 640)
        #expect(yolo11.info.classNames == ["animal", "person", "vehicle"])
        #expect(yolo11.info.strides == [8, 16, 32])
        #expect(yolo11.info.outputKind == .anchorFree)
        #expect(yolo11.info.storagePrecision == "float16")
        let yolov8 = try ModelLoader.load(path: Self.folder.appendingPathComponent("yolov8_tiny.pt").path)
        #expect(yolov8.info.architecture.hasPrefix("YOLOv8 (ultralytics"))
        #expect(yolov8.info.metadataImageSize == 960)
        let yolov9 = try ModelLoader.load(path: Self.folder.appendingPathComponent("yolov9_tiny.pt").path)
        #expect(yolov9.info.architecture.hasPrefix("YOLOv9 (ultralytics"))
        #expect(yolov9.info.modelType == .ultralytics)
        let yolov10 = try ModelLoader.load(path: Self.folder.appendingPathComponent("yolov10_tiny.pt").path)
        #expect(yolov10.info.architecture.hasPrefix("YOLOv10 (ultralytics") && yolov10.info.outputKind == .anchorFree)
        let endToEnd = try ModelLoader.load(path: Self.folder.appendingPathComponent("yolov10_e2e_tiny.pt").path)
        #expect(endToEnd.info.outputKind == .endToEnd && endToEnd.info.architecture.contains("end-to-end one-to-one head"))
        let cedar = try ModelLoader.load(path: Self.location("yolov9/yolov9c_dual_tiny").folder.appendingPathComponent("yolov9c_dual_tiny.pt").path)
        #expect(cedar.info.architecture.hasPrefix("YOLOv9 (yolov9 repository layout"))
        #expect(cedar.info.architecture.contains("DualDDetect: the first head"))
        #expect(cedar.info.modelType == .yolov9 && cedar.info.metadataImageSize == 640)
    }

    /// A checkpoint whose pickle would call os.system when PyTorch loads it: refused by name, and
    /// nothing ran.
    @Test func craftedCheckpointIsRefusedWithoutRunningIt() throws {
        let marker = "/tmp/crafted-ultralytics-ran"
        try? FileManager.default.removeItem(atPath: marker)
        #expect(throws: ModelFormatError.disallowedPickleGlobal(module: "posix", name: "system")) {
            try ModelLoader.load(path: Self.folder.appendingPathComponent("crafted_ultralytics_exec.pt").path)
        }
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
