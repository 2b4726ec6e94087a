import Detection
import Foundation
import Testing
import TestSupport

/// `TorchArgsort` against PyTorch's own `argsort(descending=True)` on tie-heavy arrays
/// (Tests/Fixtures/yolov9/argsort_cases.json, written by generate_yolov9_fixtures.py).
struct TorchArgsortTests {
    @Test func equalsPyTorchIncludingTies() throws {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/yolov9/argsort_cases.json")
        let cases = try #require(try Fixtures.jsonObject(at: url)["cases"] as? [[String: Any]])
        #expect(cases.count == 27)
        for entry in cases {
            let integers = try #require(entry["integers"] as? [Int]), divisor = try #require(entry["divisor"] as? Int)
            let expected = try #require(entry["argsort_descending"] as? [Int])
            // As PyTorch computes them: integer tensor -> float32, divided in float32.
            let values = integers.map { Float($0) / Float(divisor) }
            #expect(TorchArgsort.argsortDescending(values) == expected, "\(integers.count) values over \(divisor)")
        }
    }

    /// Without ties the order is simply by value, and a stable sort would give the same.
    @Test func distinctValuesSortByValue() {
        let values: [Float] = [0.3, 0.9, 0.1, 0.5, 0.7]
        #expect(TorchArgsort.argsortDescending(values) == [1, 4, 3, 0, 2])
    }
}
