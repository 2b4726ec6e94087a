import Engine
import Foundation
import ModelFormats
import Testing
import TestSupport

/// The first stage's backbone of the MDv4-structure thin graph, translated to an Engine graph, gives
/// TensorFlow's `Repeat_1/block17_20/Relu` for TensorFlow's own preprocessed input (fixtures from
/// Tests/Fixtures/mdv4/make_mdv4_fixtures.py, two camera-trap photos).
struct TFConvolutionalSubgraphTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4")

    struct Recorded {
        let tensors: [String: String]
        let photos: [[String: Any]]
    }

    static func recorded() throws -> Recorded {
        let data = try Data(contentsOf: folder.appendingPathComponent("mdv4_thin_outputs.json"))
        let manifest = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        return Recorded(tensors: try #require(manifest["tensors"] as? [String: String]),
                        photos: try #require(manifest["photos"] as? [[String: Any]]))
    }

    /// A recorded array (raw float32, NHWC as TensorFlow wrote it).
    static func array(_ photo: [String: Any], _ key: String) throws -> Tensor {
        let entry = try #require((photo["arrays"] as? [String: [String: Any]])?[key])
        let shape = try #require(entry["shape"] as? [Int])
        let data = try Data(contentsOf: folder.appendingPathComponent(try #require(entry["file"] as? String)))
        let count = shape.reduce(1, *)
        try #require(data.count == count * 4)
        let values = data.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return Tensor(shape: shape, values: values)
    }

    /// Runs the translated subgraph from `source` (a recorded array) to the recorded `targets` and
    /// returns the largest difference from TensorFlow per target, with the largest activation.
    static func compare(photo index: Int, source: (key: String, node: String), targets: [String]) throws -> [String: (Float, Float)] {
        let recorded = try recorded()
        let photo = recorded.photos[index]
        let input = try array(photo, source.key)
        let graph = try TFGraphDef(path: folder.appendingPathComponent("mdv4_thin.pb").path)
        let subgraph = try TFConvolutionalSubgraph.build(graph, from: source.node, to: try targets.map { try #require(recorded.tensors[$0]) },
                                                        batch: input.shape[0], height: input.shape[1], width: input.shape[2],
                                                        channels: input.shape[3])
        let chw = input.nhwcToNCHW()
        let network = try Network(graph: subgraph, backend: .oneDNN, planningInputShapes: [TFConvolutionalSubgraph.inputName: chw.shape])
        let outputs = try network.run([TFConvolutionalSubgraph.inputName: chw])
        var report: [String: (Float, Float)] = [:]
        for (key, name) in zip(targets, subgraph.outputs) {
            let expected = try array(photo, key)
            let ours = (try #require(outputs[name])).nchwToNHWC()
            #expect(ours.shape == expected.shape, "\(key)")
            let difference = WorstError.absoluteDifference(ours.values, expected.values)
            report[key] = (difference, expected.values.map(abs).max() ?? 0)
        }
        return report
    }

    /// First stage: the backbone to block17_20 and the RPN heads (atrous 3x3 conv with Relu6, box
    /// and objectness 1x1 convs), from TensorFlow's preprocessed input.
    @Test(arguments: [0, 1]) func firstStageMatchesTensorFlow(_ index: Int) throws {
        let report = try Self.compare(photo: index, source: ("preprocessed", "Preprocessor/sub"),
                                      targets: ["block17_20", "rpn_box_encodings", "rpn_objectness"])
        // float32 sums in another order over ~190 layers: a few ulps of the largest value.
        for (key, (difference, largest)) in report {
            #expect(difference <= 2e-6 * max(1, largest / 0.2), "\(key): max |ours - TF| = \(difference), values up to \(largest)")
        }
        #expect(report.count == 3)
    }

    /// Second stage: Mixed_7a, the block8 repeats and Conv2d_7b_1x1 on TensorFlow's 17x17 crops (the
    /// first four proposals), batched.
    @Test(arguments: [0, 1]) func secondStageFeaturesMatchTensorFlow(_ index: Int) throws {
        let report = try Self.compare(photo: index, source: ("crop_and_resize", "Reshape_3"), targets: ["second_stage_features"])
        let (difference, largest) = try #require(report["second_stage_features"])
        #expect(difference <= 2e-6 * max(1, largest / 0.2), "max |ours - TF| = \(difference), values up to \(largest)")
    }
}

extension TFConvolutionalSubgraphTests {
    /// CropAndResize of TensorFlow's proposals from TensorFlow's block17_20 features equals TensorFlow's
    /// crops (the first four of 300 recorded), 17x17 bilinear.
    @Test(arguments: [0, 1]) func cropAndResizeMatchesTensorFlow(_ index: Int) throws {
        let photo = try Self.recorded().photos[index]
        let features = (try Self.array(photo, "block17_20")).nhwcToNCHW()
        let boxes = try Self.array(photo, "proposal_boxes")
        let expected = try Self.array(photo, "crop_and_resize")
        let firstFour = Tensor(shape: [4, 4], values: Array(boxes.values.prefix(16)))
        // The reference op and the channels-last kernel the detector runs (inside the second stage).
        let graph = try Graph(inputs: [.init(name: "features", shape: features.shape), .init(name: "boxes", shape: [4, 4])],
                              outputs: ["crops"], nodes: [Graph.Node(name: "crops", operation: CropAndResize(cropHeight: 17, cropWidth: 17),
                                                                     inputs: ["features", "boxes"], outputs: ["crops"])])
        for backend in ExecutionBackend.allCases {
            let network = try Network(graph: graph, backend: backend, planningInputShapes: ["features": features.shape, "boxes": [4, 4]])
            let ours = try #require(try network.run(["features": features, "boxes": firstFour])["crops"]).nchwToNHWC()
            #expect(ours.shape == expected.shape)
            let difference = WorstError.absoluteDifference(ours.values, expected.values)
            #expect(difference <= 1e-6, "\(backend): max |ours - TF| = \(difference)")
        }
        #expect(expected.values.contains { $0 != 0 })
    }
}

extension TFConvolutionalSubgraphTests {
    /// The second stage's heads (spatial mean, fully connected class and box layers) on TensorFlow's
    /// crops give TensorFlow's class logits and box encodings for those proposals.
    @Test(arguments: [0, 1]) func secondStageHeadsMatchTensorFlow(_ index: Int) throws {
        let recorded = try Self.recorded()
        let photo = recorded.photos[index]
        let crops = try Self.array(photo, "crop_and_resize")
        let graph = try TFGraphDef(path: Self.folder.appendingPathComponent("mdv4_thin.pb").path)
        let keys = ["second_stage_class_logits", "second_stage_box_encodings"]
        let subgraph = try TFConvolutionalSubgraph.build(graph, from: "Reshape_3", to: try keys.map { try #require(recorded.tensors[$0]) },
                                                        batch: crops.shape[0], height: crops.shape[1], width: crops.shape[2],
                                                        channels: crops.shape[3])
        let input = crops.nhwcToNCHW()
        let network = try Network(graph: subgraph, backend: .oneDNN, planningInputShapes: [TFConvolutionalSubgraph.inputName: input.shape])
        let outputs = try network.run([TFConvolutionalSubgraph.inputName: input])
        #expect(!keys.isEmpty && subgraph.outputs.count == keys.count)
        for (key, name) in zip(keys, subgraph.outputs) {
            let expected = try Self.array(photo, key)
            let ours = try #require(outputs[name])  // [4, out, 1, 1]
            let rows = ours.shape[0], columns = ours.shape[1]
            #expect(rows == 4 && columns == expected.shape[1])
            let reference = Array(expected.values.prefix(rows * columns))
            let difference = WorstError.absoluteDifference(ours.values, reference)
            let largest = reference.map(abs).max() ?? 0
            // Relative 2e-6 (about 17 float32 ulps): fused epilogues round differently after ~250 layers.
            #expect(difference <= 2e-6 * max(1, largest), "\(key): max |ours - TF| = \(difference), values up to \(largest)")
        }
    }
}
