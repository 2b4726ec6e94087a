import Detection
import Foundation
import Imaging
import Testing
import TestSupport

/// Pixels must equal the reference's exactly: the MD5 of PIL's decoded RGB (after EXIF rotation) and
/// of the OpenCV-letterboxed network input, recorded by Tests/Fixtures/detect/generate_detect_fixtures.py.
struct DecodeAgainstPILTests {
    nonisolated(unsafe) static let expected: [String: [String: Any]] = {  // read-only
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_pixels.json")
        let data = (try? Data(contentsOf: url)) ?? Data()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: [String: Any]]) ?? [:]
    }()

    static func path(_ key: String) -> String? {
        if key.hasPrefix("synthetic/") {
            return Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/\(key)").path
        }
        return Fixtures.shared?.appendingPathComponent("images/\(key.dropFirst("shared/".count))").path
    }

    static let decodable = expected.filter { $0.value["letterboxed_md5"] != nil }.map(\.key).sorted()

    @Test(arguments: decodable)
    func pixelsEqualPILAndOpenCV(_ key: String) throws {
        guard let path = Self.path(key) else {
            print("skipped \(key): ../shared is absent")
            return
        }
        let entry = try #require(Self.expected[key])
        let decoded = try ImageDecoder.decode(path: path)
        let shape = try #require(entry["mode_shape"] as? [Int])
        #expect([decoded.image.height, decoded.image.width, 3] == shape)
        #expect(MD5.hex(decoded.image.pixels) == entry["decoded_md5"] as? String, "decoded pixels differ from PIL's")
        let letterbox = Letterbox(sourceWidth: decoded.image.width, sourceHeight: decoded.image.height, size: 1280, stride: 64)
        let boxed = letterbox.apply(to: decoded.image)
        #expect([boxed.height, boxed.width, 3] == entry["letterboxed_shape"] as? [Int])
        #expect(MD5.hex(boxed.pixels) == entry["letterboxed_md5"] as? String, "letterboxed pixels differ from OpenCV's")
    }

    /// Where the reference fails (CMYK JPEG, palette PNG) we convert: to exactly what PIL's
    /// `convert("RGB")` gives.
    static let convertedByUs = expected.filter { $0.value["pil_rgb_md5"] != nil }.map(\.key).sorted()

    @Test(arguments: convertedByUs)
    func conversionsEqualPILsConvertRGB(_ key: String) throws {
        guard let path = Self.path(key) else {
            print("skipped \(key): ../shared is absent")
            return
        }
        let entry = try #require(Self.expected[key])
        let decoded = try ImageDecoder.decode(path: path)
        #expect([decoded.image.height, decoded.image.width, 3] == entry["pil_rgb_shape"] as? [Int])
        #expect(MD5.hex(decoded.image.pixels) == entry["pil_rgb_md5"] as? String, "converted pixels differ from PIL's convert('RGB')")
    }

    @Test func md5MatchesKnownVectors() {
        #expect(MD5.hex([UInt8]()) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(MD5.hex(Array("The quick brown fox jumps over the lazy dog".utf8)) == "9e107d9d372bb6826bd81d3542a419d6")
        #expect(MD5.hex([UInt8](repeating: 0x61, count: 1000)) == "cabe45dcc9ae5b66ba86600cca6b8ba8")  // 16 blocks
    }
}
