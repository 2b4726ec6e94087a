import Foundation
import Imaging
import Testing
import TestSupport

struct ImageDecoderTests {
    /// A PNG whose header claims 100000 x 100000 pixels (and has no pixel data): refused from the
    /// header, before any pixel memory is allocated.
    @Test func oversizedHeaderIsAFailureNotAnAllocation() throws {
        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        let ihdr: [UInt8] = Array("IHDR".utf8) + [0x00, 0x01, 0x86, 0xA0, 0x00, 0x01, 0x86, 0xA0, 8, 2, 0, 0, 0]
        png += [0, 0, 0, 13] + ihdr + crc32(ihdr)
        #expect(throws: ImagingError.tooLarge(path: "huge.png", width: 100_000, height: 100_000, limit: ImageDecoder.maximumPixels)) {
            try ImageDecoder.decode(data: Data(png), path: "huge.png")
        }
        // A JPEG whose frame header says 65535 x 65535.
        var jpeg = try [UInt8](Data(contentsOf: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/synthetic/tiny_64x48.jpg")))
        let sof = try #require((0..<(jpeg.count - 1)).first { jpeg[$0] == 0xFF && (jpeg[$0 + 1] == 0xC0 || jpeg[$0 + 1] == 0xC2) })
        for offset in 5...8 { jpeg[sof + offset] = 0xFF }
        #expect(throws: ImagingError.self) { try ImageDecoder.decode(data: Data(jpeg), path: "huge.jpg") }
    }

    @Test func unsupportedAndEmptyFilesHaveClearReasons() {
        #expect(throws: ImagingError.emptyFile(path: "empty.jpg")) { try ImageDecoder.decode(data: Data(), path: "empty.jpg") }
        #expect(throws: ImagingError.unsupportedFormat(path: "a.gif", format: "GIF")) {
            try ImageDecoder.decode(data: Data("GIF89a....".utf8), path: "a.gif")
        }
        #expect(throws: ImagingError.unsupportedFormat(path: "a.bmp", format: "BMP")) {
            try ImageDecoder.decode(data: Data([0x42, 0x4D, 0, 0, 0, 0]), path: "a.bmp")
        }
        #expect(throws: ImagingError.self) { try ImageDecoder.decode(data: Data([0xFF, 0xD8, 0xFF, 0xE0, 0x00]), path: "cut.jpg") }
    }

    @Test func orientationRotatesAsPIL() {
        // 2x1 image: red, green. Orientation 6 (rotate 90 clockwise) gives a 1x2 image red over green.
        let image = RGBImage(width: 2, height: 1, pixels: [255, 0, 0, 0, 255, 0])
        let six = Orientation.apply(6, to: image)
        #expect(six.width == 1 && six.height == 2 && six.pixels == [255, 0, 0, 0, 255, 0])
        let eight = Orientation.apply(8, to: image)
        #expect(eight.pixels == [0, 255, 0, 255, 0, 0])
        #expect(Orientation.apply(3, to: image).pixels == [0, 255, 0, 255, 0, 0])
        #expect(Orientation.apply(2, to: image) == image)  // mirrored orientations are ignored, as the reference does
    }

    @Test func letterboxGeometryMatchesTheReferenceExamples() {
        let a = Letterbox(sourceWidth: 2048, sourceHeight: 1536, size: 1280, stride: 64)
        #expect(a.width == 1280 && a.height == 960 && a.top == 0)
        let b = Letterbox(sourceWidth: 1920, sourceHeight: 1080, size: 1280, stride: 64)
        #expect(b.resizedHeight == 720 && b.top == 24 && b.bottom == 24 && b.height == 768)
        let c = Letterbox(sourceWidth: 1536, sourceHeight: 2048, size: 1280, stride: 64)
        #expect(c.width == 960 && c.height == 1280)
    }

    /// `auto=False` (fixed-size networks): the full size, padding centred as yolov5's letterbox(im,
    /// (960, 1280), auto=False) gives (dw, dh printed by it: 320/0, 0/120, 0/53.5).
    @Test func fixedLetterboxPadsToTheWholeSize() {
        let portrait = Letterbox(sourceWidth: 600, sourceHeight: 900, fixedWidth: 1280, fixedHeight: 960)
        #expect(portrait.width == 1280 && portrait.height == 960 && portrait.left == 320 && portrait.right == 320 && portrait.top == 0)
        let wide = Letterbox(sourceWidth: 1920, sourceHeight: 1080, fixedWidth: 1280, fixedHeight: 960)
        #expect(wide.resizedHeight == 720 && wide.top == 120 && wide.bottom == 120 && wide.height == 960)
        let odd = Letterbox(sourceWidth: 1001, sourceHeight: 667, fixedWidth: 1280, fixedHeight: 960)
        // dh 53.5: round(53.4) = 53 on top, round(53.6) = 54 below.
        #expect(odd.resizedWidth == 1280 && odd.resizedHeight == 853 && odd.top == 53 && odd.bottom == 54 && odd.height == 960)
    }

    private func crc32(_ bytes: [UInt8]) -> [UInt8] {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        crc ^= 0xFFFF_FFFF
        return [UInt8(crc >> 24), UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    }
}
