/// The EXIF fields the batch tool uses, read from a JPEG's APP1 segment (TIFF structure, either
/// byte order). Unknown or malformed entries are skipped, never fatal.
public struct ExifMetadata: Sendable, Equatable {
    /// Tag 274; 1 when absent.
    public var orientation: Int?
    /// DateTimeOriginal (36867) exactly as stored, e.g. "2024:06:01 21:13:07".
    public var dateTimeOriginal: String?
    /// Every ASCII / numeric tag of IFD0 and the Exif IFD, by PIL's tag name where known.
    public var tags: [String: String] = [:]

    public init(orientation: Int? = nil, dateTimeOriginal: String? = nil, tags: [String: String] = [:]) {
        self.orientation = orientation
        self.dateTimeOriginal = dateTimeOriginal
        self.tags = tags
    }

    static let tagNames: [Int: String] = [
        0x010F: "Make", 0x0110: "Model", 0x0112: "Orientation", 0x011A: "XResolution", 0x011B: "YResolution",
        0x0128: "ResolutionUnit", 0x0131: "Software", 0x0132: "DateTime", 0x013B: "Artist", 0x8298: "Copyright",
        0x8769: "ExifOffset", 0x8825: "GPSInfo", 0x829A: "ExposureTime", 0x829D: "FNumber", 0x8827: "ISOSpeedRatings",
        0x9003: "DateTimeOriginal", 0x9004: "DateTimeDigitized", 0x9209: "Flash", 0x920A: "FocalLength",
        0xA002: "ExifImageWidth", 0xA003: "ExifImageHeight", 0x010E: "ImageDescription", 0xA420: "ImageUniqueID",
        0x9286: "UserComment", 0xA434: "LensModel", 0x9201: "ShutterSpeedValue", 0x9202: "ApertureValue",
    ]

    /// Parses the TIFF payload that follows "Exif\0\0".
    public init?(tiff: ArraySlice<UInt8>) {
        let bytes = Array(tiff)
        guard bytes.count >= 8 else { return nil }
        let little: Bool
        switch (bytes[0], bytes[1]) {
        case (0x49, 0x49): little = true
        case (0x4D, 0x4D): little = false
        default: return nil
        }
        func u16(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 2 <= bytes.count else { return nil }
            return little ? Int(bytes[offset]) | Int(bytes[offset + 1]) << 8 : Int(bytes[offset]) << 8 | Int(bytes[offset + 1])
        }
        func u32(_ offset: Int) -> Int? {
            guard offset >= 0, offset + 4 <= bytes.count else { return nil }
            let b = bytes[offset..<(offset + 4)].map(Int.init)
            return little ? b[0] | b[1] << 8 | b[2] << 16 | b[3] << 24 : b[0] << 24 | b[1] << 16 | b[2] << 8 | b[3]
        }
        guard u16(2) == 42, let first = u32(4) else { return nil }
        var result = ExifMetadata()
        var visited = Set<Int>()
        var queue = [first]
        while let ifd = queue.popLast(), visited.insert(ifd).inserted, visited.count < 8 {
            guard let count = u16(ifd), count < 1000 else { continue }
            for index in 0..<count {
                let entry = ifd + 2 + index * 12
                guard let tag = u16(entry), let type = u16(entry + 2), let components = u32(entry + 4) else { break }
                let sizes = [1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 7: 1, 9: 4, 10: 8]
                guard let size = sizes[type], components >= 0, components < 1 << 20 else { continue }
                let total = size * components
                let valueOffset = total <= 4 ? entry + 8 : (u32(entry + 8) ?? -1)
                guard valueOffset >= 0, valueOffset + total <= bytes.count else { continue }
                var text: String?
                switch type {
                case 2:
                    let raw = bytes[valueOffset..<(valueOffset + total)].prefix { $0 != 0 }
                    text = String(decoding: raw, as: UTF8.self)
                case 3: text = u16(valueOffset).map(String.init)
                case 4, 9: text = u32(valueOffset).map(String.init)
                case 5, 10:
                    if let numerator = u32(valueOffset), let denominator = u32(valueOffset + 4), denominator != 0 {
                        text = String(Double(numerator) / Double(denominator))
                    }
                default: break
                }
                if tag == 0x0112, type == 3 { result.orientation = u16(valueOffset) }
                if tag == 0x9003, let text { result.dateTimeOriginal = text }
                if tag == 0x8769, let pointer = u32(valueOffset) { queue.append(pointer) }
                if let name = Self.tagNames[tag], let text, tag != 0x8769 { result.tags[name] = text }
            }
        }
        self = result
    }
}
