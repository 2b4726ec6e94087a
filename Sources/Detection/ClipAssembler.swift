import Engine
import Foundation
import ResultsFormat
import VideoDecoding

/// What the decoding stage hands to inference: a photo, or a clip as its sampled frames followed by
/// its end (frame rate, or why it could not be read, and a note for the log).
enum DecodedWork: Sendable {
    case photo(PreparedImage)
    case frame(number: Int, PreparedImage)
    case videoEnd(path: String, frameRate: Double, failure: VideoError?, warning: String?)
}

/// The inference side of a run over photos and clips: a photo's entry comes at once; a clip's frames
/// are inferred as they arrive and its entry is built when its end arrives.
struct ClipAssembler {
    /// The sampled frames of the clip in progress.
    private var frames: [(number: Int, result: ImageResult)] = []

    /// The finished entry and its name, or nil after a frame (the clip is still in progress).
    mutating func take(_ work: DecodedWork, runner: BatchRunner, request: BatchRequest?) -> (path: String, result: ImageResult)? {
        switch work {
        case let .photo(item):
            return (item.path, runner.infer(item, request: request))
        case let .frame(number, item):
            let result = runner.infer(item, request: nil)
            if result.failure != nil { runner.progress.note("Warning: frame \(number) of video \(item.path) failed") }
            frames.append((number, result))
            runner.progress.frameDone()
            return nil
        case let .videoEnd(video, frameRate, failure, warning):
            defer { frames = [] }
            if let warning { runner.progress.note("Warning: \(video): \(warning)") }
            if let failure {
                runner.progress.note("Video \(video) cannot be processed: \(failure.description)")
                return (video, VideoResults.failure(file: video, error: failure))
            }
            return (video, VideoResults.entry(file: video, frameRate: frameRate, frames: frames))
        }
    }
}

extension BatchRunner {
    /// Decoding stage for one input read from `path` and named `name` in the results: a photo, or a
    /// clip's sampled frames (letterboxed as photos are) and then its end. Only a frame or two is
    /// decoded ahead of inference (the channel is bounded), so memory does not grow with a clip's length.
    static func decode(_ path: String, as name: String, sampling: FrameSampling, configuration: DetectorConfiguration,
                       to channel: BoundedChannel<DecodedWork>) async {
        guard VideoFiles.isVideo(name) else {
            var item = prepare(path, configuration: configuration)
            item.path = name
            await channel.send(.photo(item))
            return
        }
        let frames: SampledFrames
        do {
            frames = try SampledFrames(path: path, sampling: sampling)
        } catch {
            await channel.send(.videoEnd(path: name, frameRate: -1, failure: error, warning: nil))
            return
        }
        while let (number, image) = frames.next() {
            if Task.isCancelled { return }
            let input = PreparedImage(path: name, input: .success((configuration.networkInput(image), image.width, image.height, nil)))
            await channel.send(.frame(number: number, input))
        }
        await channel.send(.videoEnd(path: name, frameRate: frames.frameRate, failure: nil, warning: frames.samplingWarning))
    }
}
