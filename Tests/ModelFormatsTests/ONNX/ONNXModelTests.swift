import Engine
import Foundation
import ModelFormats
import Testing
import TestSupport

struct ONNXModelTests {
    /// yolov5's own ONNX export of the fixture networks (BatchNorm fused by the exporter, Detect as
    /// generic ops) against PyTorch, with the tolerances of YOLOv5CheckpointTests, and against
    /// onnxruntime on the same file.
    @Test(arguments: ["yolov5_p6_tiny", "yolov5_p5_tiny"])
    func yolov5ExportMatchesPyTorchAndOnnxruntime(_ name: String) throws {
        let (output, entry) = try YOLOv5CheckpointTests.runFixture(name, backend: .oneDNN, file: "\(name).onnx")
        let columns = output.shape[2]
        let torch = try Fixtures.array(entry["torch_output"])
        let versusTorch = YOLOv5CheckpointTests.compare(output, Tensor(shape: output.shape, values: torch.values), columns: columns)
        #expect(versusTorch.worstBox <= YOLOv5CheckpointTests.boxTolerance)
        #expect(versusTorch.box99 <= YOLOv5CheckpointTests.boxTolerance99)
        #expect(versusTorch.worstScore <= YOLOv5CheckpointTests.scoreTolerance)
        let ort = try Fixtures.array(entry["onnxruntime_output"])
        let versusOrt = YOLOv5CheckpointTests.compare(output, Tensor(shape: output.shape, values: ort.values), columns: columns)
        #expect(versusOrt.worstBox <= YOLOv5CheckpointTests.boxTolerance)
        #expect(versusOrt.worstScore <= YOLOv5CheckpointTests.scoreTolerance)
    }

    @Test func exportIsFusedIntoConvolutions() throws {
        let model = try ModelLoader.load(path: Fixtures.enginePath("yolov5_p6_tiny.onnx"))
        let kinds = model.network.graph.nodes.map(\.operation.kind)
        // Every Conv -> Sigmoid -> Mul of the backbone became one Conv; only Detect's sigmoids remain.
        #expect(kinds.filter { $0 == "Sigmoid" }.count == 4)
        #expect(model.network.graph.nodes.contains { ($0.operation as? Conv)?.addsResidual == true })
    }

    /// The real, trained YOLOX-Nano on a shared photo, against onnxruntime (expected values made by the
    /// fixture generator). Scores are sigmoids of a trained network: compared at 1e-5; raw box
    /// offsets at 1e-3 (in grid-cell units, before exp and the stride).
    @Test(.requires(.shared)) func yoloxNanoMatchesOnnxruntime() throws {
        let shared = try Fixtures.requireShared()
        let entry = try #require(try Fixtures.manifest()["yolox"] as? [String: Any])
        let model = try ModelLoader.load(path: shared.appendingPathComponent("models/yolox_nano_416_coco.onnx").path)
        var input = try Fixtures.array(entry["input_bgr"])
        input.shape = [1] + input.shape
        let output = try model.network.run(["images": input])["output"]!
        #expect(output.shape == [1, 3549, 85])
        let columns = try Fixtures.array(entry["output_columns_0_to_4"])
        var worstBox: Float = 0, worstObjectness: Float = 0
        for row in 0..<3549 {
            for column in 0..<5 {
                let error = abs(output.values[row * 85 + column] - columns.values[row * 5 + column])
                if column < 4 { worstBox = WorstError.combine(worstBox, error) } else { worstObjectness = WorstError.combine(worstObjectness, error) }
            }
        }
        #expect(worstBox < 1e-3)
        #expect(worstObjectness < 1e-5)
        let rows = try #require(entry["confident_rows"] as? [Int])
        let confident = try Fixtures.array(entry["confident_output"])
        #expect(!rows.isEmpty)
        for (position, row) in rows.enumerated() {
            for column in 4..<85 {
                #expect(abs(output.values[row * 85 + column] - confident.values[position * 85 + column]) < 1e-5)
            }
        }
    }

    @Test func unsupportedOperatorIsNamedWithItsOpset() {
        #expect(throws: ModelFormatError.unsupportedOperator(name: "Erf", opset: 13, node: "erf_node")) {
            try ModelLoader.load(path: Fixtures.enginePath("unsupported_op.onnx"))
        }
    }

    @Test func truncatedONNXIsRejected() throws {
        let whole = try Data(contentsOf: Fixtures.engine.appendingPathComponent("yolov5_p5_tiny.onnx"))
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(UUID().uuidString).onnx")
        try whole.prefix(whole.count / 3).write(to: path)
        defer { try? FileManager.default.removeItem(at: path) }
        #expect(throws: ModelFormatError.self) { try ModelLoader.load(path: path.path) }
    }
}
