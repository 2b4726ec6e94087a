import Engine
import Foundation
import ModelFormats
import Testing
import TestSupport

/// The fixture models are random-weight YOLOv5 networks in MegaDetector's container (see
/// Tests/Fixtures/engine/generate_engine_fixtures.py); expected outputs come from PyTorch.
struct YOLOv5CheckpointTests {
    /// Tolerances, justified by the fixtures themselves: PyTorch's own float32 output differs from a
    /// float64 evaluation of the same network by up to 0.0075 px (P6) in boxes and 1.3e-6 in scores,
    /// because a deep random network amplifies rounding. So boxes are compared at 0.02 px worst case and
    /// 1e-3 px at the 99th percentile, scores at 1e-5; and our distance to the float64 result must not
    /// exceed PyTorch's own by more than half again.
    static let boxTolerance: Float = 0.02
    static let boxTolerance99: Float = 1e-3
    static let scoreTolerance: Float = 1e-5

    struct Comparison {
        var worstBox: Float = 0, worstScore: Float = 0, box99: Float = 0
    }

    static func compare(_ actual: Tensor, _ expected: Tensor, columns: Int) -> Comparison {
        var result = Comparison()
        var boxErrors: [Float] = []
        for row in 0..<(expected.count / columns) {
            for column in 0..<columns {
                let error = abs(actual.values[row * columns + column] - expected.values[row * columns + column])
                if column < 4 {
                    boxErrors.append(error)
                    result.worstBox = WorstError.combine(result.worstBox, error)
                } else {
                    result.worstScore = WorstError.combine(result.worstScore, error)
                }
            }
        }
        boxErrors.sort()
        result.box99 = boxErrors[Int(Double(boxErrors.count - 1) * 0.99)]
        return result
    }

    static func runFixture(_ name: String, backend: ExecutionBackend, file: String? = nil) throws -> (Tensor, [String: Any]) {
        let entry = try Fixtures.model(name)
        let model = try ModelLoader.load(path: Fixtures.enginePath(file ?? "\(name).pt"), backend: backend)
        var input = try Fixtures.array(entry["input"], scale: 1 / 255)
        input.shape = [1] + input.shape
        let output = try model.network.run([model.info.inputName: input])[model.info.outputName]!
        return (output, entry)
    }

    @Test(arguments: ["yolov5_p6_tiny", "yolov5_p5_tiny"])
    func matchesPyTorch(_ name: String) throws {
        let (output, entry) = try Self.runFixture(name, backend: .oneDNN)
        var expected = try Fixtures.array(entry["torch_output"])
        expected.shape = [1] + expected.shape
        #expect(output.shape == expected.shape)
        let columns = expected.shape[2]
        let versusTorch = Self.compare(output, expected, columns: columns)
        #expect(versusTorch.worstBox <= Self.boxTolerance)
        #expect(versusTorch.box99 <= Self.boxTolerance99)
        #expect(versusTorch.worstScore <= Self.scoreTolerance)
        let float64 = try Fixtures.array(entry["float64_output"])
        let ours = Self.compare(output, Tensor(shape: output.shape, values: float64.values), columns: columns)
        let torchError = Self.compare(Tensor(shape: output.shape, values: expected.values),
                                      Tensor(shape: output.shape, values: float64.values), columns: columns)
        // Against float64, our error is of the order of PyTorch fp32's own: within 2x of it (oneDNN's
        // AVX2 and AVX-512 kernels sum in different orders, so hosts differ by a few ulps), and scores
        // (sigmoids near 1, ulp 6e-8) within 4e-6 however small PyTorch's own error happens to be.
        #expect(ours.worstBox <= torchError.worstBox * 2, "ours \(ours.worstBox), PyTorch \(torchError.worstBox)")
        #expect(ours.worstScore <= max(torchError.worstScore * 2, 4e-6), "ours \(ours.worstScore), PyTorch \(torchError.worstScore)")
    }

    /// The reference implementation of every op, end to end, on the smaller network.
    @Test func referenceBackendMatchesPyTorch() throws {
        let (output, entry) = try Self.runFixture("yolov5_p5_tiny", backend: .reference)
        let expected = try Fixtures.array(entry["torch_output"])
        let comparison = Self.compare(output, Tensor(shape: output.shape, values: expected.values), columns: 7)
        #expect(comparison.worstBox <= Self.boxTolerance)
        #expect(comparison.worstScore <= Self.scoreTolerance)
    }

    @Test func describesTheArchitecture() throws {
        let p6 = try ModelLoader.load(path: Fixtures.enginePath("yolov5_p6_tiny.pt"))
        let entry = try Fixtures.model("yolov5_p6_tiny")
        #expect(p6.info.classNames == ["animal", "person", "vehicle"])
        #expect(p6.info.strides == [8, 16, 32, 64])
        #expect(p6.info.defaultInputSize == 1280)
        #expect(p6.info.storagePrecision == "float16")
        #expect(p6.info.layerCount == entry["layers"] as? Int)
        let anchors = try #require(entry["anchors_pixels"] as? [[[Double]]])
        #expect(anchors.count == 4 && p6.info.anchorsInPixels.map(\.count) == anchors.map(\.count))
        for (level, pairs) in anchors.enumerated() {
            for (index, pair) in pairs.enumerated() {
                #expect(Double(p6.info.anchorsInPixels[level][index].width) == pair[0])
                #expect(Double(p6.info.anchorsInPixels[level][index].height) == pair[1])
            }
        }
        let p5 = try ModelLoader.load(path: Fixtures.enginePath("yolov5_p5_tiny.pt"))
        #expect(p5.info.strides == [8, 16, 32])
        #expect(p5.info.classNames.count == 2)
        #expect(p5.info.defaultInputSize == 1280)  // the reference assumes 1280 without metadata
    }

    /// The dumped intermediate of layer 2 (a C3 block) equals PyTorch's forward-hook output.
    @Test func intermediateActivationsLineUpWithPyTorchHooks() throws {
        let model = try ModelLoader.load(path: Fixtures.enginePath("yolov5_p6_tiny.pt"))
        let entry = try Fixtures.model("yolov5_p6_tiny")
        var input = try Fixtures.array(entry["input"], scale: 1 / 255)
        input.shape = [1] + input.shape
        var captured: [String: Tensor] = [:]
        _ = try ExecutionContext(network: model.network).run(["images": input]) { name, value in captured[name] = value }
        let layers = try #require(entry["layer_outputs"] as? [String: Any])
        let expected = try Fixtures.array(layers["2"])
        let actual = try #require(captured["model.2"])
        #expect(actual.shape == [1] + expected.shape)
        #expect(actual.maxAbsoluteDifference(to: Tensor(shape: actual.shape, values: expected.values)) < 1e-4)
        #expect(captured.keys.contains("model.2.m.0.cv1"))
    }
}
