/// Why a clip could not be read. The messages name the file and the cause; `referenceFailure` is the
/// text the reference's `process_video` records for the same case.
public enum VideoError: Error, Equatable, CustomStringConvertible {
    /// The container, its video stream or its first frame cannot be read (OpenCV: not opened).
    case unopenable(path: String, reason: String)
    /// Reading stopped on an error that is not the end of the data.
    case unreadable(path: String, reason: String)
    /// The clip opened but its frame count is zero, so nothing is sampled.
    case noFrames(path: String)
    /// A rendered clip cannot be written.
    case unwritable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .unopenable(path, reason): return "cannot open the video \(path): \(reason)"
        case let .unreadable(path, reason): return "cannot read the video \(path): \(reason)"
        case let .noFrames(path): return "the video \(path) has no frames"
        case let .unwritable(path, reason): return "cannot write the video \(path): \(reason)"
        }
    }

    /// The reference's message for this failure (after its "Failure processing video: " prefix).
    public var referenceFailure: String {
        switch self {
        case let .unopenable(path, _), let .unreadable(path, _), let .unwritable(path, _): return "Could not open video \(path)"
        case let .noFrames(path): return "Error: found no frames in file \(path)"
        }
    }
}
