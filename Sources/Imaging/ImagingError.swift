/// Why a photo could not be turned into pixels. Batch runs record these as per-image failures.
public enum ImagingError: Error, Equatable, CustomStringConvertible {
    case unreadable(path: String, reason: String)
    case emptyFile(path: String)
    case unsupportedFormat(path: String, format: String)
    case corrupt(path: String, reason: String)
    case tooLarge(path: String, width: Int, height: Int, limit: Int)

    public var description: String {
        switch self {
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .emptyFile(path): return "\(path) is empty"
        case let .unsupportedFormat(path, format): return "\(path): \(format) images are not supported"
        case let .corrupt(path, reason): return "\(path): \(reason)"
        case let .tooLarge(path, width, height, limit):
            return "\(path): \(width)x\(height) pixels exceeds the limit of \(limit) pixels (decompression bomb?)"
        }
    }
}
