import ResultsFormat
import VideoDecoding

/// A clip's entry in the results file, built as the reference's `process_video` builds it
/// (`_video_results_to_md_format`, then `write_results_to_file`).
enum VideoResults {
    /// The reference's prefix for a clip that could not be processed.
    static let failurePrefix = "Failure processing video: "

    /// `frames`: each sampled frame's number and its result as a photo's. Frames are put in order; a
    /// frame whose inference failed counts as not sampled (the format cannot say a frame failed); the
    /// detections of all frames, each tagged with its frame number, are sorted by confidence, highest
    /// first, keeping frame order among equal confidences (Python's stable sort).
    static func entry(file: String, frameRate: Double, frames: [(number: Int, result: ImageResult)]) -> ImageResult {
        var entry = ImageResult(file: file, detections: [])
        entry.frameRate = frameRate
        var processed: [Int] = []
        var detections: [DetectionResult] = []
        for frame in frames.sorted(by: { $0.number < $1.number }) where frame.result.failure == nil {
            processed.append(frame.number)
            for var detection in frame.result.detections ?? [] {
                detection.frameNumber = frame.number
                detections.append(detection)
            }
        }
        entry.framesProcessed = processed
        entry.detections = detections.enumerated().sorted { lhs, rhs in
            lhs.element.conf != rhs.element.conf ? lhs.element.conf > rhs.element.conf : lhs.offset < rhs.offset
        }.map(\.element)
        return entry
    }

    /// A clip that could not be opened or had no frames: frame rate -1, no frames, the reference's text.
    static func failure(file: String, error: VideoError) -> ImageResult {
        var entry = ImageResult(file: file, failure: failurePrefix + error.referenceFailure)
        entry.frameRate = -1
        entry.framesProcessed = []
        return entry
    }
}
