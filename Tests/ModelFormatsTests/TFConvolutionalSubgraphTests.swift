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

    /// NHWC <-> NCHW for one image.
    static func toChannelsFirst(_ t: Tensor) -> Tensor {
        let (h, w, c) = (t.shape[1], t.shape[2], t.shape[3])
        var values = [Float](repeating: 0, count: t.values.count)
        for y in 0..<h { for x in 0..<w { for k in 0..<c { values[(k * h + y) * w + x] = t.values[(y * w + x) * c + k] } } }
        return Tensor(shape: [1, c, h, w], values: values)
    }

    static func toChannelsLast(_ t: Tensor) -> Tensor {
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        var values = [Float](repeating: 0, count: t.values.count)
        for y in 0..<h { for x in 0..<w { for k in 0..<c { values[(y * w + x) * c + k] = t.values[(k * h + y) * w + x] } } }
        return Tensor(shape: [1, h, w, c], values: values)
    }

    @Test(arguments: [0, 1]) func backboneMatchesTensorFlow(_ index: Int) throws {
        let recorded = try Self.recorded()
        let photo = recorded.photos[index]
        let input = try Self.array(photo, "preprocessed")
        let expected = try Self.array(photo, "block17_20")
        let graph = try TFGraphDef(path: Self.folder.appendingPathComponent("mdv4_thin.pb").path)
        let subgraph = try TFConvolutionalSubgraph.build(graph, from: try #require(recorded.tensors["preprocessed"]),
                                                        to: try #require(recorded.tensors["block17_20"]),
                                                        height: input.shape[1], width: input.shape[2], channels: input.shape[3])
        let chw = Self.toChannelsFirst(input)
        let network = try Network(graph: subgraph, backend: .oneDNN, planningInputShapes: [TFConvolutionalSubgraph.inputName: chw.shape])
        let output = try #require(try network.run([TFConvolutionalSubgraph.inputName: chw]).values.first)
        let ours = Self.toChannelsLast(output)
        #expect(ours.shape == expected.shape)
        let difference = zip(ours.values, expected.values).map { abs($0 - $1) }.max() ?? .infinity
        let largest = expected.values.map(abs).max() ?? 0
        // float32 sums in another order over ~190 layers: a few ulps of the largest activation.
        #expect(difference <= 2e-6, "max |ours - TF| = \(difference) for activations up to \(largest)")
    }
}
