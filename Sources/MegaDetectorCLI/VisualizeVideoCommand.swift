import ArgumentParser
import Foundation
import Postprocessing

struct VisualizeVideoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize-video",
        abstract: "Draw a results file's boxes on its clips and write the rendered clips (visualize_video_output).",
        discussion: """
        Each clip entry becomes a clip of the frames the detector saw, boxes drawn, at the rate that plays \
        them at real speed (--rendering-fs auto), under the clip's relative name in OUTPUT_DIR. H.264 where \
        the container takes it.
        """
    )

    @Argument(help: "Results file.") var results: String
    @Argument(help: "Folder for the rendered clips.") var outputDir: String
    @Option(help: "Folder that relative clip names are relative to.") var videosDir: String?
    @Option(help: "Draw detections at or above this confidence.") var confidence: Double = 0.15
    @Option(help: "Output frame rate: auto, a rate, or a negative speed-up of auto (e.g. -2).") var renderingFs: String = "auto"
    @Flag(help: "Only the frames between the first and last with a detection at or above --confidence.") var trimToDetections = false
    @Option(help: "Write clips with this extension (e.g. mp4) instead of the original one.") var outputExtension: String?
    @Option(help: "Box line width.") var boxThickness: Int = 4
    @Option(help: "Label text height in pixels.") var labelFontSize: Int = 16

    func run() throws {
        try reportingErrors {
            var options = VideoVisualizer.Options(resultsPath: results, outputFolder: outputDir)
            options.videosFolder = videosDir
            options.confidence = confidence
            if renderingFs != "auto" {
                guard let rate = Double(renderingFs), rate != 0, rate.isFinite else {
                    throw ValidationError("--rendering-fs must be auto, a frame rate, or a negative speed-up")
                }
                options.renderingFrameRate = rate
            }
            options.trimToDetections = trimToDetections
            options.outputExtension = outputExtension
            options.boxThickness = boxThickness
            options.labelFontSize = labelFontSize
            let rendered = try VideoVisualizer.run(options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            for clip in rendered where clip.output == nil {
                FileHandle.standardError.write(Data("\(clip.file): \(clip.skipped ?? "not rendered")\n".utf8))
            }
            let frames = rendered.reduce(0) { $0 + $1.frames }
            print("Rendered \(rendered.filter { $0.output != nil }.count) of \(rendered.count) videos (\(frames) frames) into \(outputDir)")
        }
    }
}
