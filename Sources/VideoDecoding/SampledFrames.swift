import Imaging

/// The sampled frames of one clip, one at a time, exactly as the reference's `run_callback_on_frames`
/// walks them: the clip counts as opened only when its first frame decodes; frames 0 ..< frameCount are
/// visited in order, the kept ones converted and the others only decoded; reading stops early where the
/// data ends (a truncated clip keeps the frames it has), and a clip with no sampled frame is a failure.
/// Given frame numbers instead of a sampling (the reference's `frames_to_process`, used to render
/// results), it returns those frames and stops after the last.
public final class SampledFrames {
    public let reader: VideoReader
    public let interval: Int
    /// Explicit frame numbers to return (nil: every `interval`th frame).
    private let wanted: Set<Int>?
    private let lastWanted: Int
    /// A note for the log when the time interval was shorter than a frame.
    public let samplingWarning: String?
    private var nextNumber = 0
    private var firstFrame: RGBImage?
    public private(set) var framesReturned = 0

    public init(path: String, sampling: FrameSampling, maximumPixels: Int = VideoReader.defaultMaximumPixels) throws(VideoError) {
        (reader, firstFrame) = try Self.open(path, maximumPixels: maximumPixels)
        (interval, samplingWarning) = sampling.interval(frameRate: reader.frameRate)
        wanted = nil
        lastWanted = Int.max
        if reader.frameCount <= 0 { throw .noFrames(path: path) }
    }

    /// Frames `numbers` only (numbers past the clip's end are never reached).
    public init(path: String, frames numbers: [Int], maximumPixels: Int = VideoReader.defaultMaximumPixels) throws(VideoError) {
        (reader, firstFrame) = try Self.open(path, maximumPixels: maximumPixels)
        interval = 1
        samplingWarning = nil
        wanted = Set(numbers)
        lastWanted = numbers.max() ?? -1
    }

    /// The reader and its first frame: OpenCV's open_video() in the reference reads the first frame to
    /// decide that the clip opened.
    private static func open(_ path: String, maximumPixels: Int) throws(VideoError) -> (VideoReader, RGBImage) {
        let reader = try VideoReader(path: path, maximumPixels: maximumPixels)
        let first: RGBImage?
        do { first = try reader.read() } catch { throw .unopenable(path: path, reason: error.description) }
        guard let first else { throw .unopenable(path: path, reason: "no frame decodes") }
        return (reader, first)
    }

    public var frameRate: Double { reader.frameRate }
    public var frameCount: Int { reader.frameCount }

    /// The next sampled frame and its number, or nil when the clip (or its data) ends. A read error
    /// after the first frame ends the clip as the end of data does, as `cv2.VideoCapture.read()` does.
    public func next() -> (number: Int, image: RGBImage)? {
        while nextNumber < reader.frameCount && nextNumber <= lastWanted {
            let number = nextNumber
            nextNumber += 1
            let keep = wanted.map { $0.contains(number) } ?? (number % interval == 0)
            if number == 0 {
                let image = firstFrame
                firstFrame = nil
                if keep, let image { framesReturned += 1; return (number, image) }
                continue
            }
            do {
                if keep {
                    guard let image = try reader.read() else { return finish() }
                    framesReturned += 1
                    return (number, image)
                }
                guard try reader.skip() else { return finish() }
            } catch {
                return finish()
            }
        }
        return nil
    }

    private func finish() -> (number: Int, image: RGBImage)? {
        nextNumber = reader.frameCount
        return nil
    }
}
