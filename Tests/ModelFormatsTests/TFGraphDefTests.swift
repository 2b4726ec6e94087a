import Foundation
import ModelFormats
import Testing
import TestSupport

/// The GraphDef reader and the MegaDetector v2-v4 structure checks, on the node-for-node skeleton of
/// a real TF1 Object Detection API export (Tests/Fixtures/mdv4/make_mdv4_fixtures.py), against
/// TensorFlow's own reading of the same export (mdv4_structure.json).
struct TFGraphDefTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4")
    static let skeleton = folder.appendingPathComponent("mdv4_skeleton.pb").path

    static func structure() throws -> [String: Any] {
        let data = try Data(contentsOf: folder.appendingPathComponent("mdv4_structure.json"))
        return try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    }

    /// A copy of the skeleton with `original` replaced by `replacement` (same length, so the protobuf
    /// stays well formed) everywhere it occurs.
    static func edited(_ original: String, _ replacement: String) throws -> String {
        try edited(bytes: Array(original.utf8), Array(replacement.utf8))
    }

    /// The same for a float32 value stored inline (`float_val`), e.g. a threshold constant.
    static func edited(_ original: Float, _ replacement: Float) throws -> String {
        try edited(bytes: withUnsafeBytes(of: original.bitPattern.littleEndian, Array.init),
                   withUnsafeBytes(of: replacement.bitPattern.littleEndian, Array.init))
    }

    static func edited(bytes needle: [UInt8], _ patch: [UInt8]) throws -> String {
        precondition(needle.count == patch.count)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: skeleton)))
        var index = 0, replaced = 0
        while index + needle.count <= bytes.count {
            if bytes[index] == needle[0] && Array(bytes[index..<(index + needle.count)]) == needle {
                bytes.replaceSubrange(index..<(index + needle.count), with: patch)
                index += needle.count
                replaced += 1
            } else {
                index += 1
            }
        }
        // An edit that changed nothing would make the tests below compare the untouched graph with itself.
        guard replaced > 0 else { throw Fixtures.FixtureError.missing("\(needle) does not occur in \(skeleton)") }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("edited-\(UUID().uuidString).pb").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }

    @Test func readsTheGraphAsTensorFlowDoes() throws {
        let expected = try Self.structure()
        let graph = try TFGraphDef(path: Self.skeleton)
        #expect(graph.nodes.count == expected["node_count"] as? Int)
        #expect(graph.producer == expected["producer"] as? Int)
        #expect(graph.opCounts == expected["ops"] as? [String: Int])
        let nodes = try graph.nodesByName()
        let sample = try #require(expected["sample_nodes"] as? [String: [String: Any]])
        #expect(sample.count > 30)
        for (name, node) in sample {
            #expect(nodes[name]?.op == node["op"] as? String, "\(name)")
            #expect(nodes[name]?.inputs == node["inputs"] as? [String], "\(name)")
        }
        #expect(nodes["image_tensor"]?.dataType == .uint8)
        let weights = try #require(expected["class_predictor_weights"] as? [String: Any])
        guard case let .tensor(tensor) = nodes[weights["name"] as! String]?.attributes["value"] else {
            Issue.record("no tensor value")
            return
        }
        #expect(tensor.shape == weights["shape"] as? [Int] && tensor.dataType == .float)
    }

    @Test func recognisesTheMegaDetectorV4Structure() throws {
        let summary = try FasterRCNNGraph.inspect(try TensorFlowGraphFile.open(Self.skeleton))
        #expect(summary.classCount == 3)
        #expect(summary.anchorsPerCell == 12, "scales 0.25-2 x ratios 0.5-2")
        #expect(summary.nodeCount == 12_343)
        #expect(summary.weightCount > 50_000_000, "InceptionResNetV2 shapes are all there")
        #expect(summary.weightBytes < 1_000_000, "the skeleton keeps no large weights")
    }

    /// The runnable thin variant is the same graph node for node (names, ops, inputs) with real,
    /// narrower weights that the reader finds with the right byte counts.
    @Test func thinVariantMatchesTheExportNodeForNode() throws {
        let thin = try TFGraphDef(path: Self.folder.appendingPathComponent("mdv4_thin.pb").path)
        let skeleton = try TFGraphDef(path: Self.skeleton)
        #expect(thin.nodes.map(\.name) == skeleton.nodes.map(\.name))
        #expect(thin.nodes.map(\.op) == skeleton.nodes.map(\.op))
        #expect(thin.nodes.map(\.inputs) == skeleton.nodes.map(\.inputs))
        let summary = try FasterRCNNGraph.inspect(thin)
        #expect(summary.classCount == 3 && summary.anchorsPerCell == 12)
        // Constants filled with one value (TF writes one inline float for those) are the rest.
        #expect(summary.weightBytes > summary.weightCount * 4 * 99 / 100 && summary.weightBytes <= summary.weightCount * 4,
                "the weights are stored: \(summary.weightBytes) bytes for \(summary.weightCount) floats")
        let nodes = try thin.nodesByName()
        guard case let .tensor(weights) = nodes["SecondStageBoxPredictor/ClassPredictor/weights"]?.attributes["value"] else {
            Issue.record("no class weights")
            return
        }
        let values = try weights.floats(in: thin.file, node: "SecondStageBoxPredictor/ClassPredictor/weights")
        #expect(values.count == 192 * 4 && values.contains { $0 != 0 })
    }

    @Test func refusesAGraphWithARenamedNode() throws {
        let path = try Self.edited("detection_scores", "detection_scorez")
        #expect(throws: ModelFormatError.unexpectedGraph("node detection_scores is missing")) {
            try FasterRCNNGraph.inspect(try TensorFlowGraphFile.open(path))
        }
    }

    /// MDv4's model config, read from the file's constants (not assumed).
    @Test func readsTheHyperparametersFromTheGraph() throws {
        let read = try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(Self.skeleton))
        #expect(read == FasterRCNNHyperparameters(minDimension: 600, maxDimension: 1024, cropSize: 17, anchorScales: [0.25, 0.5, 1, 2],
                                                  anchorAspectRatios: [0.5, 1, 2], anchorBaseSize: 256, anchorStride: 8, anchorsReadFromFile: true,
                                                  firstStageIoUThreshold: 0.7, secondStageIoUThreshold: 0.6, maxProposals: 300,
                                                  maxDetectionsPerClass: 100))
        // A file trained with another second-stage NMS threshold is run with that threshold.
        let other = try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(try Self.edited(Float(0.6), Float(0.5))))
        #expect(other.secondStageIoUThreshold == 0.5 && other.firstStageIoUThreshold == 0.7)
    }

    /// Constants the pipeline implements as fixed arithmetic are checked: a changed box-coder scale
    /// factor or a renamed one is refused, naming the node.
    @Test func refusesAGraphWhoseFixedConstantsDiffer() throws {
        #expect(throws: ModelFormatError.unexpectedGraph("Decode/truediv/y is 9.0, the MegaDetector pipeline uses 10.0")) {
            try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(try Self.edited(Float(10), Float(9))))
        }
        #expect(throws: ModelFormatError.unexpectedGraph("node Decode/truediv_2/y is missing")) {
            try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(try Self.edited("Decode/truediv_2/y", "Decode/truediv_2/z")))
        }
    }

    /// Names older exporters wrote elsewhere are not required: without `GridAnchorGenerator/` constants the
    /// anchors are MegaDetector's config (and the RPN weights must still say 12 per cell); without a
    /// logit scale there is nothing to check.
    @Test func toleratesNamesOlderExportersPutElsewhere() throws {
        let expected = try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(Self.skeleton))
        var moved = try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(try Self.edited("GridAnchorGenerator", "GridAnchorGeneratoX")))
        #expect(!moved.anchorsReadFromFile)
        moved.anchorsReadFromFile = true
        #expect(moved == expected)
        let unscaled = try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(try Self.edited("scale_logits", "scale_logitz")))
        #expect(unscaled == expected)
    }

    /// The resizer must sample as TF's legacy bilinear resize: a graph resizing with half-pixel centres
    /// (its `half_pixel_centers` attribute set to true) is refused.
    @Test func refusesAResizerThatSamplesDifferently() throws {
        let flag = Array("half_pixel_centers".utf8), off: [UInt8] = [0x12, 0x02, 0x28, 0x00], on: [UInt8] = [0x12, 0x02, 0x28, 0x01]
        let path = try Self.edited(bytes: flag + off, flag + on)
        do {
            _ = try FasterRCNNHyperparameters.read(try TensorFlowGraphFile.open(path))
            Issue.record("a resizer with half-pixel centres was accepted")
        } catch let ModelFormatError.unexpectedGraph(reason) {
            #expect(reason.hasSuffix("resizes with half_pixel_centers; the pipeline implements TF's legacy bilinear resize"), "\(reason)")
        }
    }

    @Test func namesUnsupportedOps() throws {
        let path = try Self.edited("CropAndResize", "CropAndResizX")
        #expect(throws: ModelFormatError.unsupportedTensorFlowOps(["CropAndResizX"])) {
            try FasterRCNNGraph.inspect(try TensorFlowGraphFile.open(path))
        }
    }

    @Test func refusesTruncatedAndNonGraphFiles() throws {
        let data = try Data(contentsOf: URL(fileURLWithPath: Self.skeleton))
        let truncated = FileManager.default.temporaryDirectory.appendingPathComponent("truncated-\(UUID().uuidString).pb")
        try data.prefix(data.count / 2).write(to: truncated)
        do {
            _ = try TensorFlowGraphFile.open(truncated.path)
            Issue.record("a truncated graph was accepted")
        } catch let ModelFormatError.malformedGraph(reason) {
            #expect(reason.contains("truncated"), "\(reason)")
        }
        let text = FileManager.default.temporaryDirectory.appendingPathComponent("text-\(UUID().uuidString).pb")
        try Data("this is not a graph\n".utf8).write(to: text)
        #expect(throws: ModelFormatError.self) { try TensorFlowGraphFile.open(text.path) }
    }
}
