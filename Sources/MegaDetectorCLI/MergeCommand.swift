import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Add detections from other runs where the target has none overlapping (merge_detections).",
        discussion: "Arguments: SOURCE... TARGET OUTPUT."
    )

    @Argument(help: "Source results files, then the target results file, then the output file.") var paths: [String]
    @Option(help: "Comma-separated minimum confidences, one per source (or one for all).") var sourceConfidenceThresholds: String = "0.05"
    @Option(help: "Target detections at or above this confidence block overlapping source detections.") var targetConfidenceThreshold: Double = 0.2
    @Option(help: "Ignore source detections smaller than this fraction of the image.") var minDetectionSize: Double = 0
    @Option(help: "Ignore source detections larger than this fraction of the image.") var maxDetectionSize: Double = 1.01
    @Option(help: "Comma-separated category ids to merge (default all).") var categoriesToInclude: String?
    @Option(help: "Comma-separated category ids not to merge.") var categoriesToExclude: String?
    @Flag(help: "Only merge into categories the target found nothing confident for.") var mergeEmptyOnly = false
    @Option(help: "Overlap (IoU) at which a source detection counts as already found.") var iouThreshold: Double = 0.65
    @Flag(help: "Mark transferred detections with \"merged\": true.") var markCopiedDetections = false
    @Flag(help: "Replace the output file if it exists.") var overwrite = false

    func run() throws {
        try reportingErrors {
            guard paths.count >= 3 else { throw ValidationError("give SOURCE... TARGET OUTPUT") }
            let output = paths[paths.count - 1], target = paths[paths.count - 2], sources = Array(paths.dropLast(2))
            try OutputGuard.check(output, overwrite: overwrite, inputs: Array(paths.dropLast()))
            guard categoriesToInclude == nil || categoriesToExclude == nil else {
                throw ValidationError("--categories-to-include and --categories-to-exclude are mutually exclusive")
            }
            var options = DetectionMerging.Options()
            options.sourceConfidenceThresholds = try sourceConfidenceThresholds.split(separator: ",").map { text in
                guard let value = Double(text.trimmingCharacters(in: .whitespaces)) else { throw ValidationError("bad threshold \(text)") }
                return value
            }
            options.targetConfidenceThreshold = targetConfidenceThreshold
            options.minimumDetectionSize = minDetectionSize
            options.maximumDetectionSize = maxDetectionSize
            options.categoriesToInclude = categoriesToInclude.map { Set($0.split(separator: ",").compactMap { Int($0) }) }
            options.categoriesToExclude = categoriesToExclude.map { Set($0.split(separator: ",").compactMap { Int($0) }) }
            options.mergeEmptyOnly = mergeEmptyOnly
            options.iouThreshold = iouThreshold
            options.markCopiedDetections = markCopiedDetections
            let merged = try DetectionMerging.merge(target: try ResultsInput.loadDocument(target),
                                                    sources: try sources.map { ($0, try ResultsInput.loadDocument($0)) }, options: options)
            try AtomicFile.write(Data(JSONWriter.serialize(.object(merged)).utf8), to: output)
            print("Merged \(sources.count) source file\(sources.count == 1 ? "" : "s") into \(output)")
        }
    }
}
