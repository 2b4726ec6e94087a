import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `megadetector detect` with models trained by the `ultralytics` package (YOLO11 as MDv1000-larch,
/// YOLOv8, YOLOv9) and by the yolov9 repository (MDv1000-cedar's layout), against what the reference
/// package computes with the same files (Tests/Fixtures/ultralytics, Tests/Fixtures/yolov9): its
/// ultralytics route (ultralytics' letterbox, `non_max_suppression` and `scale_boxes`) and its yolov9
/// route (yolov9pip's NMS, yolov5-style `scale_boxes`, the first of DualDDetect's outputs).
/// Tolerances as issue 12 states them: confidence 0.001, and 1 px of the photo (plus the 0.0001 by
/// which the reference truncates normalised coordinates): boxes are rounded to whole pixels, so float
/// noise at a .5 boundary moves a side by exactly one pixel.
struct UltralyticsDetectTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/ultralytics")
    static let synthetic = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/synthetic")

    /// The models of both generators, as "folder/name" under Tests/Fixtures.
    static let models = ["ultralytics/yolo11_tiny", "ultralytics/yolov8_tiny", "ultralytics/yolov9_tiny", "ultralytics/yolov9e_tiny",
                         "ultralytics/yolov10_tiny",
                         "ultralytics/yolov10_e2e_tiny", "yolov9/yolov9c_dual_tiny",
                         "yolov9/yolov9c_tiny"]

    static func check(_ model: String, input: URL, kind: String, minimumIdentical: Double, file: String? = nil) throws {
        let parts = model.split(separator: "/").map(String.init)
        let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/\(parts[0])")
        let (ours, output) = try DetectCommandTests.runDetect(input.path, model: folder.appendingPathComponent(file ?? "\(parts[1]).pt").path)
        let expected = try ResultsFile.read(path: folder.appendingPathComponent("expected_\(parts[1])_\(kind).json").path)
        let keep = { (image: ImageResult) in DetectCommandTests.deliberateDifferences[image.file] == nil }
        let report = ResultsComparer.compare(ResultsFile(images: ours.images.filter(keep), info: ours.info),
                                             ResultsFile(images: expected.images.filter(keep), info: expected.info),
                                             unmatchedAllowedUpTo: 0.005 + 0.001)
        #expect(report.onlyInFirst.isEmpty && report.onlyInSecond.isEmpty && report.failureMismatches.isEmpty)
        #expect(report.maxConfidenceError.value <= 0.001 + 1e-9, "\(report.maxConfidenceError)")
        let largestSide = Double(ours.images.compactMap { max($0.width ?? 0, $0.height ?? 0) }.max() ?? 0)
        #expect(report.maxPixelError.value <= 1 + 0.0001 * largestSide + 1e-6, "\(report.maxPixelError)")
        let fraction = Double(report.identicalImages) / Double(max(report.imagesCompared, 1))
        #expect(fraction >= minimumIdentical, "identical entries: \(report.identicalImages) of \(report.imagesCompared)")
        #expect(ours.images.count == expected.images.count)
        let validation = try Fixtures.runCLI(["validate", output])
        #expect(validation.status == 0, "\(validation.stderr)")
    }

    @Test(arguments: models)
    func syntheticPhotosMatchTheReference(_ model: String) throws {
        // 15-16 of 16 comparable photos identical; the rest differ by float noise at a truncation boundary.
        try Self.check(model, input: Self.synthetic, kind: "synthetic", minimumIdentical: 0.85)
    }

    @Test(.requires(.shared), arguments: models)
    func sharedPhotosMatchTheReference(_ model: String) throws {
        let shared = try Fixtures.requireShared()
        // 37-42 of 44 comparable photos identical (the fewest where a model gives up to 300 detections a
        // photo); the others differ by one pixel or one truncation step of a confidence.
        try Self.check(model, input: shared.appendingPathComponent("images"), kind: "shared", minimumIdentical: 0.8)
    }

    /// The same weights exported by ultralytics' own exporter with dynamic height and width give the
    /// reference's results on the checkpoint: the anchor-free output is recognised by its shape, the
    /// size (640, 960) and class names come from the export's metadata; an end-to-end export (`nms=False`)
    /// runs up to the decoded head and our top-k replaces the graph's.
    @Test(arguments: ["ultralytics/yolo11_tiny", "ultralytics/yolov8_tiny", "ultralytics/yolov10_e2e_tiny"])
    func dynamicONNXExportGivesTheReferenceResultsOfItsCheckpoint(_ model: String) throws {
        let name = model.split(separator: "/")[1]
        try Self.check(model, input: Self.synthetic, kind: "synthetic", minimumIdentical: 0.85, file: "\(name)_dynamic.onnx")
        let info = try Fixtures.runCLI(["model-info", Self.folder.appendingPathComponent("\(name)_dynamic.onnx").path])
        #expect(info.stdout.contains(name.contains("e2e") ? "end-to-end corner boxes" : "anchor-free boxes [N, 4 + classes, anchors]"),
                "\(info.stdout)")
        #expect(info.stdout.contains("0=animal, 1=person, 2=vehicle"), "\(info.stdout)")
    }

    @Test func modelInfoDescribesTheFile() throws {
        let result = try Fixtures.runCLI(["model-info", Self.folder.appendingPathComponent("yolo11_tiny.pt").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("YOLO11 (ultralytics, anchor-free, 3 detection levels"))
        #expect(result.stdout.contains("model_type ultralytics"))
        #expect(result.stdout.contains("default input size: 640"))
    }

    @Test func augmentIsRefusedForUltralyticsModels() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-ultra-\(UUID().uuidString).json").path
        let result = try Fixtures.runCLI(["detect", Self.folder.appendingPathComponent("yolo11_tiny.pt").path, Self.synthetic.path,
                                          output, "--augment"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("--augment is built for YOLOv5 models only"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
