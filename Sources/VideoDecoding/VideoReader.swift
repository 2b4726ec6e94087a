import CVideoCodecs
import Imaging

/// Frames of one clip in decoding order, through FFmpeg's libraries, read the way the reference's
/// `cv2.VideoCapture` reads them (see `video_codecs.h`): the same frame rate and frame count, frames
/// converted to RGB by libswscale as OpenCV converts them (its BGR with the channels swapped back, which
/// is what the reference's `cvtColor(BGR2RGB)` gives).
///
/// One frame's RGB buffer is reused, so memory stays flat however long the clip. Not `Sendable`: a
/// reader belongs to the one task that decodes the clip.
public final class VideoReader {
    /// Frames above this are refused (the photo decoder's bound; 8K video is 33 MP).
    public static let defaultMaximumPixels = 178_956_970

    public let path: String
    public let width: Int
    public let height: Int
    /// OpenCV's `CAP_PROP_FPS`: the stream's average frame rate, else the inverse of its time base.
    public let frameRate: Double
    /// OpenCV's `CAP_PROP_FRAME_COUNT`: the container's count, else duration x frame rate, rounded. The
    /// reference reads no further than this, and stops earlier when the data ends (truncated clips).
    public let frameCount: Int
    public let durationSeconds: Double
    public let codecName: String
    /// Clockwise quarter turns applied to every frame: the clip's rotation tag, which OpenCV applies by
    /// default (`CAP_PROP_ORIENTATION_AUTO`). Phones tag clips; traps rarely do.
    public let quarterTurns: Int
    private let handle: OpaquePointer

    public init(path: String, maximumPixels: Int = VideoReader.defaultMaximumPixels) throws(VideoError) {
        var info = md_video_info()
        var message = [CChar](repeating: 0, count: 256)
        guard let handle = md_video_open(path, Int64(maximumPixels), &info, &message, message.count) else {
            throw .unopenable(path: path, reason: Self.text(message))
        }
        self.path = path
        self.handle = handle
        width = Int(info.width)
        height = Int(info.height)
        frameRate = info.frame_rate
        frameCount = Int(info.frame_count)
        durationSeconds = info.duration
        codecName = info.codec_name.map { String(cString: $0) } ?? "unknown"
        quarterTurns = Int(info.rotation)
    }

    deinit { md_video_close(handle) }

    /// Decodes the next frame without converting it (OpenCV's `grab()`); false at the end of the data.
    public func skip() throws(VideoError) -> Bool {
        if case .frame = try decode(convert: false) { return true }
        return false
    }

    /// Decodes and converts the next frame (OpenCV's `read()`); nil at the end of the data.
    public func read() throws(VideoError) -> RGBImage? {
        if case let .frame(image) = try decode(convert: true) { return image }
        return nil
    }

    private enum Decoded {
        case end
        case frame(RGBImage?)
    }

    private func decode(convert: Bool) throws(VideoError) -> Decoded {
        var rgb: UnsafePointer<UInt8>?
        var frameWidth: Int32 = 0, frameHeight: Int32 = 0
        var message = [CChar](repeating: 0, count: 256)
        let status = md_video_next(handle, convert ? 1 : 0, &rgb, &frameWidth, &frameHeight, &message, message.count)
        if status < 0 { throw .unreadable(path: path, reason: Self.text(message)) }
        if status == 0 { return .end }
        guard convert, let rgb else { return .frame(nil) }
        let count = Int(frameWidth) * Int(frameHeight) * 3
        let image = RGBImage(width: Int(frameWidth), height: Int(frameHeight), pixels: Array(UnsafeBufferPointer(start: rgb, count: count)))
        return .frame(quarterTurns == 0 ? image : Orientation.rotate(image, quarterTurnsClockwise: quarterTurns))
    }

    static func text(_ message: [CChar]) -> String {
        let bytes = message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
