import ArgumentParser
import Foundation
import Postprocessing

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "An HTML preview of a results file: counts per result class, sampled photos, and with ground truth precision/recall (postprocess_batch_results)."
    )

    @Argument(help: "Results file.") var results: String
    @Argument(help: "Folder for index.html and its pages.") var outputDir: String
    @Option(help: "Folder the results' file names are relative to.") var imagesDir: String?
    @Option(help: "Confidence threshold (default: the file's typical_detection_threshold).") var confidenceThreshold: Double?
    @Flag(help: "Add an 'almost detections' class between the two thresholds.") var includeAlmostDetections = false
    @Option(help: "Lower threshold for almost detections (default: threshold - 0.05).") var almostDetectionConfidenceThreshold: Double?
    // `.unconditional` so that `-1` is read as the value, not as an option.
    @Option(parsing: .unconditional, help: "Photos to render across all pages (-1: all).") var numImagesToSample: Int = 500
    @Option(help: "Order on the pages: filename, confidence or random.") var sortOrder: String = "filename"
    @Option(help: "COCO Camera Traps ground truth (image-level labels) for precision/recall.") var groundTruth: String?
    @Option(help: "Recall to find the threshold for.") var targetRecall: Double = 0.9
    @Option(help: "Rendering threads (default: the number of cores).") var workers: Int = ProcessInfo.processInfo.activeProcessorCount

    func run() throws {
        try reportingErrors {
            let loaded = try ResultsInput.load(results)
            var options = BatchReport.Options(outputFolder: outputDir)
            options.imagesFolder = imagesDir
            options.confidenceThreshold = confidenceThreshold
            if includeAlmostDetections {
                let threshold = confidenceThreshold ?? ResultsInput.typicalThreshold(loaded)
                options.almostDetectionThreshold = almostDetectionConfidenceThreshold ?? max(((threshold - 0.05) * 1e6).rounded() / 1e6, 0)
            }
            guard numImagesToSample >= -1 else { throw ValidationError("--num-images-to-sample must be -1 (all) or a count") }
            options.numberOfImagesToSample = numImagesToSample == -1 ? Int.max : numImagesToSample
            guard let order = BatchReport.Options.SortOrder(rawValue: sortOrder) else {
                throw ValidationError("--sort-order must be filename, confidence or random")
            }
            options.sortOrder = order
            options.groundTruthPath = groundTruth
            options.targetRecall = targetRecall
            options.workers = max(workers, 1)
            let start = Date()
            let summary = try BatchReport.run(loaded, options: options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            let counts = summary.counts.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            print("Report for \(loaded.images.count) images at threshold \(summary.threshold): \(counts); \(summary.rendered) rendered in \(String(format: "%.1f", Date().timeIntervalSince(start))) s")
            if let curve = summary.precisionRecall {
                print(String(format: "Average precision %.3f", curve.averagePrecision)
                      + (summary.atTargetRecall.map { String(format: "; recall %.2f at threshold %.3f (precision %.3f)", $0.recall, $0.threshold, $0.precision) } ?? ""))
            }
            print("Open \(outputDir)/index.html")
        }
    }
}
