import Detection
import Engine
import Foundation
import Imaging
import Testing
import TestSupport

/// The MDv4 input pipeline against TensorFlow's preprocessed tensors for two ../shared photos
/// (Tests/Fixtures/mdv4/make_mdv4_fixtures.py, thin graph: 120 x 200), and the resize rule on the
/// shapes the notes give for the real graph (600 x 1024).
struct FasterRCNNPreprocessorTests {
    @Test func sizesFollowTheKeepAspectRatioRule() {
        let real = FasterRCNNPreprocessor(minDimension: 600, maxDimension: 1024)
        #expect(real.resizedSize(height: 1536, width: 2048) == (600, 800), "4:3")
        #expect(real.resizedSize(height: 1080, width: 1920) == (576, 1024), "16:9")
        #expect(real.resizedSize(height: 2048, width: 1536) == (800, 600), "portrait")
    }

    /// Both exporters' resizers, run by TensorFlow on 101 photo sizes (awkward, near the branch point of
    /// the TF1-era rule, random; Tests/Fixtures/mdv4/make_legacy_op_fixtures.py), give our sizes.
    @Test func sizesEqualTensorFlowForBothExporterGenerations() throws {
        let data = try Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4/resizer_sizes.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let sizes = try #require(record["photo_sizes"] as? [[Int]])
        let resized = try #require(record["resized"] as? [String: [[Int]]])
        let preprocessor = FasterRCNNPreprocessor(minDimension: try #require(record["min_dimension"] as? Int),
                                                  maxDimension: try #require(record["max_dimension"] as? Int))
        #expect(sizes.count > 100)
        for generation in ["tf1", "tf2"] {
            let expected = try #require(resized[generation])
            #expect(expected.count == sizes.count, "\(generation): one TensorFlow size per photo size")
            for (size, tensorFlow) in zip(sizes, expected) {
                let ours = preprocessor.resizedSize(height: size[0], width: size[1])
                #expect([ours.height, ours.width] == tensorFlow, "\(generation) \(size)")
            }
        }
    }

    @Test(.requires(.shared), arguments: [0, 1]) func preprocessedInputEqualsTensorFlow(_ index: Int) throws {
        let shared = try Fixtures.requireShared()
        let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: folder.appendingPathComponent("mdv4_thin_outputs.json"))) as? [String: Any])
        let photo = try #require((manifest["photos"] as? [[String: Any]])?[index])
        let entry = try #require((photo["arrays"] as? [String: [String: Any]])?["preprocessed"])
        let shape = try #require(entry["shape"] as? [Int])
        let data = try Data(contentsOf: folder.appendingPathComponent(try #require(entry["file"] as? String)))
        let expected = data.withUnsafeBytes { raw in (0..<(data.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }

        let decoded = try ImageDecoder.decode(path: shared.appendingPathComponent(try #require(photo["photo"] as? String)).path)
        let ours = FasterRCNNPreprocessor(minDimension: 120, maxDimension: 200).preprocess(decoded.image)
        #expect(ours.shape == shape)
        let difference = WorstError.absoluteDifference(ours.values, expected)
        #expect(difference <= 1e-6, "max |ours - TF| = \(difference)")
    }
}
