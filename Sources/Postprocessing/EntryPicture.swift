import Imaging
import ResultsFormat
import VideoDecoding

/// The picture that stands for a results entry in reports and pages: the photo itself, or for a clip
/// its representative frame, the one with the clip's most confident detection (the first sampled frame
/// when it has none), with only that frame's detections. A clip's detections carry frame numbers, so
/// drawing all of them on one frame would put boxes where nothing is.
enum EntryPicture {
    static func load(_ entry: ImageResult, path: String) throws -> (image: RGBImage, detections: [DetectionResult]) {
        guard VideoFiles.isVideo(entry.file) else { return (try ImageDecoder.decode(path: path).image, entry.detections ?? []) }
        let detections = entry.detections ?? []
        let number = detections.max { $0.conf < $1.conf }?.frameNumber ?? entry.framesProcessed?.first ?? 0
        let frames = try SampledFrames(path: path, frames: [number])
        guard let (_, image) = frames.next() else { throw VideoError.unreadable(path: path, reason: "frame \(number) is past the clip's end") }
        return (image, detections.filter { $0.frameNumber == number })
    }
}
