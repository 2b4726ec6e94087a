import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare results files: numbers as the reference test suite does, or pages of disagreements (--html).",
        discussion: """
        With two files and no --html: max confidence and box errors; exit code 0 when they agree within         the tolerances, 1 otherwise. With --html DIR (two or more files): for every pair, the photos in         each class (common detections, common non-detections, A only, B only, class transitions)         rendered into DIR, as the reference's compare_batch_results does.
        """
    )

    @Argument(help: "Results files.") var files: [String]
    @Option(help: "Write comparison pages into this folder.") var html: String?
    @Option(help: "With --html: folder the file names are relative to.") var imagesDir: String?
    @Option(help: "With --html: detection thresholds, one per file or one for all.") var thresholds: String = "0.15"
    @Option(help: "With --html: photos per class page.") var maxImagesPerClass: Int = 100
    @Flag(help: "With --html: replace the pages of an existing, non-empty folder.") var overwrite = false
    @Option(help: "Largest acceptable confidence difference.") var confidenceTolerance: Double = 0.001
    @Option(help: "Largest acceptable box coordinate difference.") var coordinateTolerance: Double = 0.0005

    func run() throws {
        try reportingErrors {
            if let html {
                guard files.count >= 2 else { throw ValidationError("give at least two results files") }
                try OutputGuard.check(html, overwrite: overwrite, inputs: files)
                var options = ResultsComparisonReport.Options(outputFolder: html)
                options.imagesFolder = imagesDir
                options.thresholds = thresholds.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
                options.maxImagesPerClass = maxImagesPerClass
                guard !options.thresholds.isEmpty else { throw ValidationError("bad --thresholds") }
                let loaded = try files.map { ($0, try ResultsInput.load($0)) }
                let pages = try ResultsComparisonReport.write(loaded, options: options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
                print("Wrote \(pages.count) pages; open \(html)/index.html")
                return
            }
            guard files.count == 2 else { throw ValidationError("give two results files (or --html for more)") }
            let (first, second) = (files[0], files[1])
            let report = ResultsComparer.compare(try ResultsInput.load(first), try ResultsInput.load(second))
            print("images compared: \(report.imagesCompared), identical entries: \(report.identicalImages)")
            if !report.onlyInFirst.isEmpty { print("only in \(first): \(report.onlyInFirst.joined(separator: ", "))") }
            if !report.onlyInSecond.isEmpty { print("only in \(second): \(report.onlyInSecond.joined(separator: ", "))") }
            if !report.failureMismatches.isEmpty { print("failure in one file only: \(report.failureMismatches.joined(separator: ", "))") }
            if !report.frameMismatches.isEmpty { print("different sampled frames: \(report.frameMismatches.joined(separator: ", "))") }
            let confidence = report.maxConfidenceError, coordinate = report.maxCoordinateError
            print("max confidence error: \(confidence.value)\(confidence.file.isEmpty ? "" : " (\(confidence.file): \(confidence.detail))")")
            print("max coordinate error: \(coordinate.value)\(coordinate.file.isEmpty ? "" : " (\(coordinate.file): \(coordinate.detail))")")
            if !report.maxPixelError.file.isEmpty {
                print("max coordinate error in pixels of the photo: \(report.maxPixelError.value) (\(report.maxPixelError.file))")
            }
            guard report.passes(confidenceTolerance: confidenceTolerance, coordinateTolerance: coordinateTolerance) else {
                print("files differ beyond the tolerances")
                throw ExitCode(1)
            }
            print("files agree within the tolerances")
        }
    }
}
