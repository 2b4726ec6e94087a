import Detection
import Foundation
import Imaging
import Testing
import TestSupport

/// Pixels must equal the reference's exactly: the MD5 of PIL's decoded RGB (after EXIF rotation) and
/// of the OpenCV-letterboxed network input, recorded by Tests/Fixtures/detect/generate_detect_fixtures.py.
struct DecodeAgainstPILTests {
    static let fixture = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_pixels.json")

    static func expected() throws -> [String: [String: Any]] {
        guard let table = try Fixtures.jsonObject(at: fixture) as? [String: [String: Any]] else {
            throw Fixtures.FixtureError.missing("\(fixture.path) is not a table of photos")
        }
        return table
    }

    static func path(_ key: String) throws -> String {
        if key.hasPrefix("synthetic/") {
            return Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/\(key)").path
        }
        return try Fixtures.requireShared().appendingPathComponent("images/\(key.dropFirst("shared/".count))").path
    }

    /// The fixture's photos under `prefix` ("synthetic/" or "shared/") that carry `field`; never empty.
    static func keys(_ prefix: String, with field: String) throws -> [String] {
        let keys = try expected().filter { $0.key.hasPrefix(prefix) && $0.value[field] != nil }.map(\.key).sorted()
        guard !keys.isEmpty else { throw Fixtures.FixtureError.missing("\(fixture.lastPathComponent) has no \(prefix) photos with \(field)") }
        return keys
    }

    @Test(arguments: try keys("synthetic/", with: "letterboxed_md5"))
    func pixelsEqualPILAndOpenCV(_ key: String) throws {
        try Self.checkPixelsEqualPILAndOpenCV(key)
    }

    @Test(.requires(.shared), arguments: try keys("shared/", with: "letterboxed_md5"))
    func sharedPhotosPixelsEqualPILAndOpenCV(_ key: String) throws {
        try Self.checkPixelsEqualPILAndOpenCV(key)
    }

    static func checkPixelsEqualPILAndOpenCV(_ key: String) throws {
        let path = try Self.path(key)
        let entry = try #require(try Self.expected()[key])
        let decoded = try ImageDecoder.decode(path: path)
        let shape = try #require(entry["mode_shape"] as? [Int])
        #expect([decoded.image.height, decoded.image.width, 3] == shape)
        #expect(Checksum.md5Hex(decoded.image.pixels) == entry["decoded_md5"] as? String, "decoded pixels differ from PIL's")
        let letterbox = Letterbox(sourceWidth: decoded.image.width, sourceHeight: decoded.image.height, size: 1280, stride: 64)
        let boxed = letterbox.apply(to: decoded.image)
        #expect([boxed.height, boxed.width, 3] == entry["letterboxed_shape"] as? [Int])
        #expect(Checksum.md5Hex(boxed.pixels) == entry["letterboxed_md5"] as? String, "letterboxed pixels differ from OpenCV's")
    }

    /// Where the reference fails (CMYK JPEG, palette PNG) we convert: to exactly what PIL's
    /// `convert("RGB")` gives.
    @Test(.requires(.shared), arguments: try keys("shared/", with: "pil_rgb_md5"))
    func conversionsEqualPILsConvertRGB(_ key: String) throws {
        let path = try Self.path(key)
        let entry = try #require(try Self.expected()[key])
        let decoded = try ImageDecoder.decode(path: path)
        #expect([decoded.image.height, decoded.image.width, 3] == entry["pil_rgb_shape"] as? [Int])
        #expect(Checksum.md5Hex(decoded.image.pixels) == entry["pil_rgb_md5"] as? String, "converted pixels differ from PIL's convert('RGB')")
    }

    @Test func md5MatchesKnownVectors() {
        #expect(Checksum.md5Hex([UInt8]()) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(Checksum.md5Hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(Checksum.md5Hex([UInt8](repeating: 0x61, count: 1000)) == "cabe45dcc9ae5b66ba86600cca6b8ba8")  // 16 blocks
    }
}
