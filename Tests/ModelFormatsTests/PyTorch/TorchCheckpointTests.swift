import Foundation
import ModelFormats
import Testing
import TestSupport

/// Tensors saved by torch.save in each storage type and view layout (strides, storage offsets,
/// steps), read back without PyTorch and compared with the values PyTorch reported.
struct TorchCheckpointTests {
    static func entries() throws -> [String] {
        try Fixtures.caseNames(try Fixtures.manifest()["tensor_layouts"], in: "manifest.json tensor_layouts")
    }

    @Test(arguments: try entries())
    func readsEveryLayout(_ name: String) throws {
        let expected = try #require((try Fixtures.manifest()["tensor_layouts"] as? [String: Any])?[name] as? [String: Any])
        let checkpoint = try TorchCheckpoint(path: Fixtures.enginePath("tensor_layouts.pt"))
        let reference = try #require(checkpoint.root.dictionary?[name]?.tensor)
        #expect(reference.shape == expected["shape"] as? [Int])
        let values = try checkpoint.floats(reference, name: name)
        let wanted = try #require(expected["values"] as? [Double])
        #expect(values.count == wanted.count)
        for (actual, value) in zip(values, wanted) {
            // float64 is narrowed to float32 (relative 6e-8); every other type converts exactly.
            #expect(abs(Double(actual) - value) <= abs(value) * 1e-7, "\(name): \(actual) vs \(value)")
        }
    }

    @Test func viewsOutsideTheirStorageAreRejected() throws {
        let checkpoint = try TorchCheckpoint(path: Fixtures.enginePath("tensor_layouts.pt"))
        let good = try #require(checkpoint.root.dictionary?["float32"]?.tensor)
        let bad = TensorReference(storage: good.storage, offset: 20, shape: [4, 6], strides: [6, 1])
        #expect(throws: ModelFormatError.self) { try checkpoint.floats(bad, name: "overreaching") }
    }
}
