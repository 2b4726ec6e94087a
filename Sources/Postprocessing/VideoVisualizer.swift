import Foundation
import Imaging
import ResultsFormat
import VideoDecoding
import Diagnostics

/// Renders the clips of a results file with their boxes, as the reference's `visualize_video_output`:
/// per clip, the frames the detector saw (`frames_processed`, plus any frame a detection names; with
/// `trimToDetections` only those between the first and last frame with a detection at or above the
/// threshold), each with its detections at or above the threshold drawn, written as a clip at the
/// frame rate those frames imply (`auto`: the clip's rate over the sampling interval, so it plays at
/// real speed), under the clip's relative name in the output folder.
///
/// One deliberate difference: the reference swaps red and blue twice around its drawing and hands RGB
/// to a BGR writer, so its rendered clips show people blue-skinned; ours keep the clip's colours.
public enum VideoVisualizer {
    public struct Options: Sendable {
        public var resultsPath: String
        public var outputFolder: String
        /// Folder that relative clip names are relative to (needed when names are relative).
        public var videosFolder: String?
        public var confidence = 0.15
        /// nil: `auto`; a positive value: that frame rate; a negative value: a speed-up of `auto`.
        public var renderingFrameRate: Double?
        public var trimToDetections = false
        /// Replaces the clip's extension (e.g. "mp4"); nil keeps it.
        public var outputExtension: String?
        public var boxThickness = 4
        public var labelFontSize = 16

        public init(resultsPath: String, outputFolder: String) {
            self.resultsPath = resultsPath
            self.outputFolder = outputFolder
        }
    }

    public struct Rendered: Sendable {
        public var file: String
        public var output: String?
        public var frames: Int
        /// Why nothing was written (a failed clip, no frames, unreadable), as the reference words it.
        public var skipped: String?
    }

    public static func run(_ options: Options, log: @Sendable (String) -> Void) throws -> [Rendered] {
        let results = try ResultsInput.load(options.resultsPath)
        let document = try ResultsInput.loadDocument(options.resultsPath)
        let renderer = DetectionRenderer(threshold: options.confidence, boxThickness: options.boxThickness,
                                         labelFontSize: options.labelFontSize, categories: ResultsInput.categoryNames(document))
        if let videos = options.videosFolder,
           URL(fileURLWithPath: videos).standardizedFileURL.path == URL(fileURLWithPath: options.outputFolder).standardizedFileURL.path {
            throw ResultsFormatError.invalid(path: options.outputFolder, reason: "the output folder cannot be the clips' folder")
        }
        try FileManager.default.createDirectory(atPath: options.outputFolder, withIntermediateDirectories: true)
        return results.images.filter { VideoFiles.isVideo($0.file) }.map { entry in
            render(entry, renderer: renderer, options: options, log: log)
        }
    }

    static func render(_ entry: ImageResult, renderer: DetectionRenderer, options: Options, log: @Sendable (String) -> Void) -> Rendered {
        var rendered = Rendered(file: entry.file, output: nil, frames: 0, skipped: nil)
        if let failure = entry.failure {
            rendered.skipped = "Ignoring failed video: \(failure)"
            return rendered
        }
        let frames = framesToRender(entry, threshold: options.confidence, trim: options.trimToDetections)
        guard !frames.isEmpty else {
            rendered.skipped = "No frames with detections to process"
            return rendered
        }
        let source = entry.file.hasPrefix("/") || options.videosFolder == nil ? entry.file : (options.videosFolder! as NSString).appendingPathComponent(entry.file)
        var name = entry.file.hasPrefix("/") ? (entry.file as NSString).lastPathComponent : entry.file
        if let ext = options.outputExtension {
            name = (name as NSString).deletingPathExtension + "." + (ext.hasPrefix(".") ? String(ext.dropFirst()) : ext)
        }
        let output = (options.outputFolder as NSString).appendingPathComponent(name)
        let frameRate = outputFrameRate(entry, requested: options.renderingFrameRate)
        do {
            try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            let reader = try SampledFrames(path: source, frames: frames)
            var writer: VideoWriter?
            let detections = entry.detections ?? []
            while let (number, image) = reader.next() {
                var frame = image
                renderer.render(detections.filter { $0.frameNumber == number }, on: &frame)
                if writer == nil { writer = try VideoWriter(path: output, width: frame.width, height: frame.height, frameRate: frameRate) }
                try writer?.append(frame)
                rendered.frames += 1
            }
            guard let writer else {
                rendered.skipped = "No frames were processed for video \(entry.file)"
                return rendered
            }
            try writer.finish()
            rendered.output = output
        } catch {
            log("Warning: cannot render \(source): \(ErrorMessage.sentence(for: error))")
            rendered.skipped = ErrorMessage.sentence(for: error)
        }
        return rendered
    }

    /// The reference's `_get_frames_to_process`.
    static func framesToRender(_ entry: ImageResult, threshold: Double, trim: Bool) -> [Int] {
        let detections = entry.detections ?? []
        let frames = Set(entry.framesProcessed ?? []).union(detections.compactMap(\.frameNumber)).sorted()
        guard trim, !frames.isEmpty else { return frames }
        let above = detections.filter { $0.conf >= threshold }.compactMap(\.frameNumber)
        guard let first = above.min(), let last = above.max() else { return [] }
        return frames.filter { first <= $0 && $0 <= last }
    }

    /// The reference's `_get_video_output_framerate`: `auto` divides the clip's rate by the interval
    /// between the first two frames with detections (so sampled frames play at real speed).
    static func outputFrameRate(_ entry: ImageResult, requested: Double?) -> Double {
        let original = entry.frameRate ?? 30
        if let requested, requested > 0 { return requested }
        let numbers = Set((entry.detections ?? []).compactMap(\.frameNumber)).sorted()
        let auto = numbers.count < 2 ? original : original / Double(numbers[1] - numbers[0])
        if let requested, requested < 0 { return numbers.count < 2 ? original * -requested : auto * -requested }
        return auto
    }
}
