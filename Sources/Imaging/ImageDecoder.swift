import CImageCodecs
import Foundation

/// A decoded photo: RGB pixels after EXIF rotation, plus the metadata the results file can carry.
public struct DecodedImage: Sendable {
    public var image: RGBImage
    public var exif: ExifMetadata?
    /// True when the file ended early (the missing part is mid grey, as in PIL).
    public var truncated: Bool
}

/// Turns image files into RGB pixels the way the reference package's `load_image` (PIL) does:
/// JPEG through libjpeg-turbo with PIL's settings, PNG through libpng, EXIF orientations 3/6/8
/// applied (mirrored ones ignored), dimensions checked from the header before any allocation.
public enum ImageDecoder {
    /// PIL refuses images over twice `Image.MAX_IMAGE_PIXELS` (89,478,485) as decompression bombs.
    public static let maximumPixels = 178_956_970

    public static func decode(path: String) throws -> DecodedImage {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ImagingError.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied or not a file" : "no such file")
        }
        return try decode(data: data, path: path)
    }

    public static func decode(data: Data, path: String) throws -> DecodedImage {
        guard !data.isEmpty else { throw ImagingError.emptyFile(path: path) }
        let bytes = [UInt8](data)
        if bytes.count >= 3, bytes[0] == 0xFF, bytes[1] == 0xD8, bytes[2] == 0xFF {
            return try decodeJPEG(bytes, path: path)
        }
        if bytes.count >= 8, bytes[0] == 0x89, bytes[1] == 0x50, bytes[2] == 0x4E, bytes[3] == 0x47 {
            return DecodedImage(image: try decodePNG(bytes, path: path), exif: nil, truncated: false)
        }
        throw ImagingError.unsupportedFormat(path: path, format: formatName(bytes))
    }

    static func formatName(_ bytes: [UInt8]) -> String {
        func starts(_ prefix: [UInt8]) -> Bool { bytes.count >= prefix.count && Array(bytes.prefix(prefix.count)) == prefix }
        if starts([0x47, 0x49, 0x46, 0x38]) { return "GIF" }
        if starts([0x42, 0x4D]) { return "BMP" }
        if starts([0x49, 0x49, 0x2A, 0x00]) || starts([0x4D, 0x4D, 0x00, 0x2A]) { return "TIFF" }
        if starts(Array("RIFF".utf8)), bytes.count >= 12, Array(bytes[8..<12]) == Array("WEBP".utf8) { return "WebP" }
        if bytes.count >= 12, Array(bytes[4..<12]) == Array("ftypavif".utf8) { return "AVIF" }
        return "unrecognised"
    }

    private static func checkSize(_ width: Int, _ height: Int, path: String) throws {
        guard width > 0, height > 0 else { throw ImagingError.corrupt(path: path, reason: "image has no pixels (\(width)x\(height))") }
        guard width * height <= maximumPixels else {
            throw ImagingError.tooLarge(path: path, width: width, height: height, limit: maximumPixels)
        }
    }

    private static func decodeJPEG(_ bytes: [UInt8], path: String) throws -> DecodedImage {
        var info = md_jpeg_info()
        var error = [CChar](repeating: 0, count: 256)
        guard md_jpeg_read_info(bytes, bytes.count, &info, &error, error.count) == 0 else {
            throw ImagingError.corrupt(path: path, reason: "JPEG header: \(message(error))")
        }
        let width = Int(info.width), height = Int(info.height)
        try checkSize(width, height, path: path)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        var truncated: Int32 = 0
        let rows = pixels.withUnsafeMutableBufferPointer { buffer in
            md_jpeg_decode_rgb(bytes, bytes.count, buffer.baseAddress, &truncated, &error, error.count)
        }
        guard rows >= 0 else { throw ImagingError.corrupt(path: path, reason: "JPEG data: \(message(error))") }
        var image = RGBImage(width: width, height: height, pixels: pixels)
        let exif = ExifLocator.exif(inJPEG: bytes)
        image = Orientation.apply(exif?.orientation ?? 1, to: image)
        return DecodedImage(image: image, exif: exif, truncated: truncated != 0)
    }

    private static func decodePNG(_ bytes: [UInt8], path: String) throws -> RGBImage {
        // The size is in the first chunk (IHDR); check it before libpng reads any further.
        if bytes.count >= 24, Array(bytes[12..<16]) == Array("IHDR".utf8) {
            let be32 = { (o: Int) in bytes[o..<(o + 4)].reduce(0) { $0 << 8 | Int($1) } }
            try checkSize(be32(16), be32(20), path: path)
        }
        var info = md_png_info()
        var error = [CChar](repeating: 0, count: 256)
        guard md_png_read_info(bytes, bytes.count, &info, &error, error.count) == 0 else {
            throw ImagingError.corrupt(path: path, reason: "PNG header: \(message(error))")
        }
        let width = Int(info.width), height = Int(info.height)
        try checkSize(width, height, path: path)
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        let status = pixels.withUnsafeMutableBufferPointer { buffer in
            md_png_decode_rgb(bytes, bytes.count, buffer.baseAddress, &error, error.count)
        }
        guard status == 0 else { throw ImagingError.corrupt(path: path, reason: "PNG data: \(message(error))") }
        return RGBImage(width: width, height: height, pixels: pixels)
    }

    private static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Finds the EXIF block (APP1 "Exif\0\0") among a JPEG's markers before the image data.
enum ExifLocator {
    static func exif(inJPEG bytes: [UInt8]) -> ExifMetadata? {
        var offset = 2
        while offset + 4 <= bytes.count, bytes[offset] == 0xFF {
            let marker = bytes[offset + 1]
            if marker == 0xD8 || (marker >= 0xD0 && marker <= 0xD7) || marker == 0x01 { offset += 2; continue }
            if marker == 0xDA || marker == 0xD9 { return nil }  // image data starts: no EXIF before it
            let length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            guard length >= 2, offset + 2 + length <= bytes.count else { return nil }
            let start = offset + 4
            if marker == 0xE1, length >= 8, Array(bytes[start..<(start + 6)]) == [0x45, 0x78, 0x69, 0x66, 0, 0] {
                return ExifMetadata(tiff: bytes[(start + 6)..<(offset + 2 + length)])
            }
            offset += 2 + length
        }
        return nil
    }
}

extension ImageDecoder {
    /// The EXIF block of a JPEG, without decoding its pixels (nil for other formats or no EXIF).
    public static func exif(path: String) throws -> ExifMetadata? {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw ImagingError.unreadable(path: path, reason: "no such file")
        }
        defer { try? handle.close() }
        // EXIF sits in the first segments; 256 KB covers it (APP1 is at most 64 KB).
        let head = [UInt8](try handle.read(upToCount: 256 * 1024) ?? Data())
        guard head.count >= 3, head[0] == 0xFF, head[1] == 0xD8 else { return nil }
        return ExifLocator.exif(inJPEG: head)
    }
}
