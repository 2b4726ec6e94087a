import Engine
import Foundation
import ModelFormats
import Testing
import TestSupport

/// The op spellings TF 1.x exporters wrote (MegaDetector v2-v4.1 were exported with TF 1.x) in a small
/// hand-built graph that TensorFlow ran (Tests/Fixtures/mdv4/make_legacy_op_fixtures.py): FusedBatchNorm
/// v1, Add, Concat v1 (axis first), an atrous SpaceToBatchND/Conv2D/BatchToSpaceND triple, Relu6, a
/// residual scale, AvgPool, MaxPool and the Mean + MatMul head; and the TF1-era resizer inside its
/// while-loop and cond.
struct TFLegacySpellingsTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4")

    static func tensor(_ entry: Any?) throws -> Tensor {
        let record = try #require(entry as? [String: Any])
        return Tensor(shape: try #require(record["shape"] as? [Int]), values: try #require(record["values"] as? [Double]).map(Float.init))
    }

    @Test func convolutionalBlockWithTF1SpellingsEqualsTensorFlow() throws {
        let data = try Data(contentsOf: Self.folder.appendingPathComponent("legacy_convolutions.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let ops = try #require(record["ops"] as? [String])
        for legacy in ["FusedBatchNorm", "Add", "Concat", "SpaceToBatchND", "BatchToSpaceND"] { #expect(ops.contains(legacy)) }
        #expect(!ops.contains("FusedBatchNormV3") && !ops.contains("AddV2") && !ops.contains("ConcatV2"))
        let input = try Self.tensor(record["input"])
        let outputs = try #require(record["outputs"] as? [String: Any])
        let targets = outputs.keys.sorted()
        let graph = try TFGraphDef(path: Self.folder.appendingPathComponent("legacy_convolutions.pb").path)
        let subgraph = try TFConvolutionalSubgraph.build(graph, from: "input", to: targets, height: input.shape[1], width: input.shape[2],
                                                        channels: input.shape[3])
        let chw = input.nhwcToNCHW()
        for backend in ExecutionBackend.allCases {
            let network = try Network(graph: subgraph, backend: backend, planningInputShapes: [TFConvolutionalSubgraph.inputName: chw.shape])
            let results = try network.run([TFConvolutionalSubgraph.inputName: chw])
            #expect(!targets.isEmpty && subgraph.outputs.count == targets.count)
            for (target, name) in zip(targets, subgraph.outputs) {
                let expected = try Self.tensor(outputs[target])
                var ours = try #require(results[name])
                ours = ours.shape[2] == 1 && ours.shape[3] == 1 ? Tensor(shape: expected.shape, values: ours.values) : ours.nchwToNHWC()
                #expect(ours.shape == expected.shape, "\(target)")
                let largest = expected.values.map(abs).max() ?? 0
                #expect(ours.maxAbsoluteDifference(to: expected) <= 1e-5 * max(1, largest), "\(target) on \(backend)")
            }
        }
    }

    /// The same block stored channels-first (data_format NCHW on every op) is refused by name, not
    /// translated as if it were NHWC.
    @Test func refusesChannelsFirstOps() throws {
        var bytes = [UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("legacy_convolutions.pb")))
        let from = Array("NHWC".utf8), to = Array("NCHW".utf8)
        var index = 0
        while index + 4 <= bytes.count {
            if Array(bytes[index..<(index + 4)]) == from { bytes.replaceSubrange(index..<(index + 4), with: to) }
            index += 1
        }
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("nchw-\(UUID().uuidString).pb")
        try Data(bytes).write(to: path)
        let graph = try TFGraphDef(path: path.path)
        do {
            _ = try TFConvolutionalSubgraph.build(graph, from: "input", to: ["logits"], height: 13, width: 17, channels: 6)
            Issue.record("a channels-first graph was translated")
        } catch let ModelFormatError.unexpectedGraph(reason) {
            #expect(reason.hasSuffix("uses data format NCHW, expected NHWC"), "\(reason)")
        }
    }

    /// The TF1-era resizer keeps min and max dimension as float constants divided by the photo's short
    /// and long side, inside Preprocessor/map/while (a TF1 while-loop) and its cond; the TF2-era one
    /// stacks them for its landscape branch. Both are read; a graph with neither is refused.
    @Test func readsTheResizerRangeOfBothExporterGenerations() throws {
        let legacy = try TFGraphDef(path: Self.folder.appendingPathComponent("legacy_resizer.pb").path)
        for op in ["Enter", "Exit", "Merge", "Switch", "LoopCond", "TensorArrayV3"] { #expect(legacy.opCounts[op] != nil, "\(op)") }
        #expect(try FasterRCNNHyperparameters.resizerRange(in: legacy) == (600, 1024))
        let thin = try TFGraphDef(path: Self.folder.appendingPathComponent("mdv4_thin.pb").path)
        #expect(try FasterRCNNHyperparameters.resizerRange(in: thin) == (120, 200))
        let convolutions = try TFGraphDef(path: Self.folder.appendingPathComponent("legacy_convolutions.pb").path)
        #expect(throws: ModelFormatError.self) { try FasterRCNNHyperparameters.resizerRange(in: convolutions) }
    }

    /// The structure check knows every op of both legacy graphs: it gets past the op vocabulary and stops
    /// at the first missing landmark (these are fragments, not detectors).
    @Test func structureCheckKnowsTheLegacyOps() throws {
        for name in ["legacy_resizer.pb", "legacy_convolutions.pb"] {
            let graph = try TFGraphDef(path: Self.folder.appendingPathComponent(name).path)
            do {
                _ = try FasterRCNNGraph.inspect(graph)
                Issue.record("\(name) passed as a detector")
            } catch let ModelFormatError.unexpectedGraph(reason) {
                #expect(reason.hasSuffix("is missing"), "\(name): \(reason)")
            }
        }
    }
}
