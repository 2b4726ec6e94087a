import ArgumentParser
import Foundation
import Postprocessing

struct VisualizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "visualize",
        abstract: "Draw a results file's boxes on its photos and write an index.html (visualize_detector_output)."
    )

    @Argument(help: "Results file.") var results: String
    @Argument(help: "Folder for the rendered images and index.html.") var outputDir: String
    @Option(help: "Folder that relative file names are relative to.") var imagesDir: String?
    @Option(help: "Draw detections at or above this confidence.") var confidence: Double = 0.15
    // `.unconditional` so that `-1` is read as the value, not as an option.
    @Option(parsing: .unconditional, help: "Render a random sample of N photos (-1: all).") var sample: Int?
    @Option(help: "Seed for --sample.") var randomSeed: UInt64 = 0
    @Option(parsing: .unconditional, help: "Width of the rendered images (-1: keep the size).") var outputImageWidth: Int = 1000
    @Flag(help: "Only photos with a detection at or above --confidence.") var detectionsOnly = false
    @Flag(help: "Keep the photos' relative paths (otherwise anno_<path with ~>.jpg).") var preservePathStructure = false
    @Option(help: "Comma-separated category names to blur, e.g. person.") var blurCategories: String?
    @Option(help: "Box line width.") var boxThickness: Int = 4
    @Option(help: "Label text height in pixels.") var labelFontSize: Int = 16
    @Option(help: "Draw species labels (classifications) at or above this score under each box.") var classificationConfidenceThreshold: Double = 0.1

    func run() throws {
        try reportingErrors {
            var options = ResultsVisualizer.Options(resultsPath: results, outputFolder: outputDir)
            options.imagesFolder = imagesDir
            options.confidence = confidence
            if let sample, sample < -1 || sample == 0 { throw ValidationError("--sample must be -1 (all) or a positive count") }
            options.sample = sample == -1 ? nil : sample
            options.randomSeed = randomSeed
            options.outputImageWidth = outputImageWidth > 0 ? outputImageWidth : nil
            options.detectionsOnly = detectionsOnly
            options.preservePathStructure = preservePathStructure
            options.blurCategories = Set((blurCategories ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            options.boxThickness = boxThickness
            options.labelFontSize = labelFontSize
            options.classificationConfidence = classificationConfidenceThreshold
            let rendered = try ResultsVisualizer.run(options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            print("Rendered \(rendered.filter { $0.output != nil }.count) of \(rendered.count) images; open \(outputDir)/index.html")
        }
    }
}
