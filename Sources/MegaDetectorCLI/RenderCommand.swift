import ArgumentParser
import Detection
import Foundation
import Imaging
import ModelFormats
import Postprocessing
import ResultsFormat
import VideoDecoding
import Diagnostics

struct RenderCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "render",
        abstract: "Run the detector on photos and draw the boxes (run_detector): writes <name>_detections.jpg.",
        discussion: """
        With --crop, writes one JPEG per detection instead (<name>_crop00_detections.jpg, ...). A clip \
        (.mp4 .avi .mov .mkv ...) becomes <name>_detections.mp4: its sampled frames (--frame-sample / \
        --time-sample, default every frame) with their boxes, at the rate that plays them at real speed.
        """
    )

    @Argument(help: "Model file or known model name.") var model: String
    @Option(help: "One photo.") var imageFile: String?
    @Option(help: "A folder of photos.") var imageDir: String?
    @Flag(help: "Search subfolders of --image-dir.") var recursive = false
    @Option(help: "Where to write the rendered images (default: next to each photo).") var outputDir: String?
    @Option(help: "Draw detections at or above this confidence.") var threshold: Double = 0.2
    @Option(help: "Box line width in pixels.") var boxThickness: Int = 4
    @Option(help: "Grow each box by this many pixels.") var boxExpansion: Int = 0
    @Option(help: "Label text height in pixels.") var labelFontSize: Int = 16
    @Flag(help: "Write crops of the detections instead of rendered photos.") var crop = false
    @Flag(help: "Also process inputs whose names end in _detections.") var includeRendered = false
    @Option(help: "Clips: render every Nth frame (default: every frame).") var frameSample: Int?
    @Option(help: "Clips: render a frame every S seconds.") var timeSample: Double?
    @OptionGroup var engine: EngineOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    func run() throws {
        try reportingErrors {
            engine.apply()
            var inputs: [String] = []
            if let imageFile { inputs.append(imageFile) }
            if let imageDir { inputs += try ImageEnumerator.images(in: imageDir, recursive: recursive, includeVideos: true).paths }
            let sampling = try FrameSampling.parse(frameSample: frameSample, timeSample: timeSample)
            guard !inputs.isEmpty || imageFile != nil || imageDir != nil else {
                throw ValidationError("give --image-file or --image-dir")
            }
            inputs = inputs.filter { includeRendered || !URL(fileURLWithPath: $0).deletingPathExtension().lastPathComponent.hasSuffix("_detections") }
            let detector = try Detector.load(path: try ModelRegistry.resolve(model), backend: engine.backend, threshold: min(threshold, 0.005),
                                             precision: try precisionOptions.request(photos: inputs.filter { !VideoFiles.isVideo($0) }))
            let renderer = DetectionRenderer(threshold: threshold, boxThickness: boxThickness, boxExpansion: boxExpansion,
                                             labelFontSize: labelFontSize)
            if Font.standard == nil { FileHandle.standardError.write(Data("warning: no font found; drawing boxes without labels\n".utf8)) }
            if let outputDir { try FileManager.default.createDirectory(atPath: outputDir, withIntermediateDirectories: true) }
            var written = 0
            var collisions: [String: Int] = [:]
            for path in inputs {
                do {
                    if VideoFiles.isVideo(path) {
                        guard !crop else {
                            FileHandle.standardError.write(Data("Video \(path) skipped: --crop is for photos\n".utf8))
                            continue
                        }
                        let output = (outputPath(for: path, crop: nil, collisions: &collisions) as NSString).deletingPathExtension + ".mp4"
                        let frames = try Self.renderClip(path, sampling: sampling, detector: detector, renderer: renderer, to: output)
                        if frames > 0 { written += 1 }
                        continue
                    }
                    var image = try ImageDecoder.decode(path: path).image
                    let detections = try detector.detect(image)
                    if crop {
                        for (index, piece) in renderer.crops(detections, of: image).enumerated() {
                            try piece.jpegData().write(to: URL(fileURLWithPath: outputPath(for: path, crop: index, collisions: &collisions)))
                            written += 1
                        }
                    } else {
                        renderer.render(detections, on: &image)
                        try image.jpegData().write(to: URL(fileURLWithPath: outputPath(for: path, crop: nil, collisions: &collisions)))
                        written += 1
                    }
                } catch {
                    FileHandle.standardError.write(Data("Image \(path) cannot be processed: \(ErrorMessage.sentence(for: error))\n".utf8))
                }
            }
            print("Wrote \(written) file\(written == 1 ? "" : "s") for \(inputs.count) input\(inputs.count == 1 ? "" : "s")")
        }
    }

    /// `foo.jpg` -> `foo_detections.jpg` (crops: `foo_crop00_detections.jpg`), next to the photo or in
    /// --output-dir. In one flat --output-dir, photos of the same name from different folders get the
    /// reference's prefixes (`0000_foo_detections.jpg`, `0001_...`) instead of overwriting each other.
    func outputPath(for path: String, crop index: Int?, collisions: inout [String: Int]) -> String {
        let url = URL(fileURLWithPath: path)
        var name = url.deletingPathExtension().lastPathComponent
        if let index { name += String(format: "_crop%02d", index) }
        name += "_detections.jpg"
        if outputDir != nil {
            if let count = collisions[name] {
                collisions[name] = count + 1
                name = String(format: "%04d_", count) + name
            } else {
                collisions[name] = 0
            }
        }
        let folder = outputDir ?? url.deletingLastPathComponent().path
        return (folder as NSString).appendingPathComponent(name)
    }

    /// A clip's sampled frames with their detections drawn, as a clip at the rate that plays them at
    /// real speed (the clip's rate over the sampling interval). Returns the frames written.
    static func renderClip(_ path: String, sampling: FrameSampling, detector: Detector, renderer: DetectionRenderer, to output: String) throws -> Int {
        let frames = try SampledFrames(path: path, sampling: sampling)
        var writer: VideoWriter?
        var count = 0
        while let (_, image) = frames.next() {
            var frame = image
            renderer.render(try detector.detect(image), on: &frame)
            if writer == nil {
                writer = try VideoWriter(path: output, width: frame.width, height: frame.height, frameRate: frames.frameRate / Double(frames.interval))
            }
            try writer?.append(frame)
            count += 1
        }
        try writer?.finish()
        return count
    }
}
