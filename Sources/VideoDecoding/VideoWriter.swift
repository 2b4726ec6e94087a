import CVideoCodecs
import Imaging

/// Writes a clip from RGB frames (rendered detections), through libavformat/libavcodec: H.264 where the
/// container takes it (what the reference's OpenCV writer is asked for), else MPEG-4 part 2 or MPEG-2.
/// The container follows the file name's extension. `finish()` must be called to get a playable file.
public final class VideoWriter {
    public let path: String
    public let width: Int
    public let height: Int
    public let codecName: String
    private var handle: OpaquePointer?

    public init(path: String, width: Int, height: Int, frameRate: Double) throws(VideoError) {
        var message = [CChar](repeating: 0, count: 256)
        guard let handle = md_video_writer_open(path, Int32(clamping: width), Int32(clamping: height), frameRate, &message, message.count) else {
            throw .unwritable(path: path, reason: VideoReader.text(message))
        }
        self.path = path
        self.width = width
        self.height = height
        self.handle = handle
        codecName = String(cString: md_video_writer_codec(handle))
    }

    deinit { if let handle { _ = md_video_writer_close(handle, nil, 0) } }

    /// Appends a frame; it must have the size the writer was opened with.
    public func append(_ image: RGBImage) throws(VideoError) {
        guard let handle else { throw .unwritable(path: path, reason: "the clip is already finished") }
        guard image.width == width, image.height == height else {
            throw .unwritable(path: path, reason: "a \(image.width)x\(image.height) frame in a \(width)x\(height) clip")
        }
        var message = [CChar](repeating: 0, count: 256)
        let status = image.pixels.withUnsafeBufferPointer { md_video_writer_write(handle, $0.baseAddress, &message, message.count) }
        if status != 0 { throw .unwritable(path: path, reason: VideoReader.text(message)) }
    }

    /// Flushes the encoder and writes the container's trailer.
    public func finish() throws(VideoError) {
        guard let handle else { return }
        self.handle = nil
        var message = [CChar](repeating: 0, count: 256)
        if md_video_writer_close(handle, &message, message.count) != 0 { throw .unwritable(path: path, reason: VideoReader.text(message)) }
    }
}
