import Classification
import Foundation
import Imaging
import Testing
import TestSupport

/// Crops against speciesnet's own `preprocess` (Tests/Fixtures/speciesnet/expected_crops.json): the
/// 480x480 uint8 crop must be identical, byte for byte.
struct SpeciesNetCropTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/speciesnet")

    static func cases() throws -> [[String: Any]] {
        let data = try Data(contentsOf: folder.appendingPathComponent("expected_crops.json"))
        guard let list = try JSONSerialization.jsonObject(with: data) as? [[String: Any]], !list.isEmpty else {
            throw Fixtures.FixtureError.missing("expected_crops.json holds no crops")
        }
        return list
    }

    @Test(.requires(.shared)) func cropsEqualSpeciesNets() throws {
        let shared = try Fixtures.requireShared()
        for entry in try Self.cases() {
            let photo = try #require(entry["photo"] as? String), box = try #require(entry["bbox"] as? [Double])
            let image = try ImageDecoder.decode(path: shared.appendingPathComponent("images/\(photo)").path).image
            let crop = try #require(SpeciesNetCrop.crop(image, bbox: box))
            #expect(Checksum.md5Hex(crop.pixels) == entry["crop_md5"] as? String, "\(photo) \(box)")
        }
    }
}
