import Engine
import Foundation
import Testing
import TestSupport

/// CropAndResize against TensorFlow's own crops (Tests/Fixtures/mdv4/make_legacy_op_fixtures.py): boxes
/// inside, across the border, fully outside, flipped, of zero height, the whole image and larger than it;
/// crop sizes 5x4, 1x1 (TF samples the box centre) and 3x3; extrapolation values 0 and 0.5.
struct CropAndResizeTests {
    @Test func edgeCasesEqualTensorFlow() throws {
        let data = try Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4/crop_and_resize.json"))
        let record = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let imageRecord = try #require(record["image"] as? [String: Any])
        let image = Tensor(shape: try #require(imageRecord["shape"] as? [Int]),
                           values: try #require(imageRecord["values"] as? [Double]).map(Float.init)).nhwcToNCHW()
        let boxRows = try #require(record["boxes"] as? [[Double]])
        let boxes = Tensor(shape: [boxRows.count, 4], values: boxRows.flatMap { $0.map(Float.init) })
        let cases = try #require(record["cases"] as? [[String: Any]])
        #expect(cases.count == 3)
        #expect(cases.contains { ($0["extrapolation"] as? Double ?? 0) != 0 }, "no case exercises extrapolation")
        for entry in cases {
            let crop = try #require(entry["crop"] as? [Int])
            let extrapolation = Float(try #require(entry["extrapolation"] as? Double))
            let expected = Tensor(shape: try #require(entry["shape"] as? [Int]), values: try #require(entry["values"] as? [Double]).map(Float.init))
            let op = CropAndResize(cropHeight: crop[0], cropWidth: crop[1], extrapolationValue: extrapolation)
            for backend in ExecutionBackend.allCases {
                let ours = try runSingleOp(op, inputs: [image, boxes], backend: backend)[0].nchwToNHWC()
                #expect(ours.shape == expected.shape)
                #expect(ours.maxAbsoluteDifference(to: expected) <= 1e-6, "\(crop) extrapolation \(extrapolation) on \(backend)")
            }
            if extrapolation != 0 { #expect(expected.values.contains(extrapolation), "the fixture exercises extrapolation") }
        }
    }
}
