import ArgumentParser
import Foundation
import ResultsFormat

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Compare two results files as the reference test suite does (max confidence and box errors).",
        discussion: "Exit code 0 when the files agree within the tolerances, 1 otherwise."
    )

    @Argument(help: "First results file.") var first: String
    @Argument(help: "Second results file.") var second: String
    @Option(help: "Largest acceptable confidence difference.") var confidenceTolerance: Double = 0.001
    @Option(help: "Largest acceptable box coordinate difference.") var coordinateTolerance: Double = 0.0005

    func run() throws {
        try reportingErrors {
            let report = ResultsComparer.compare(try ResultsFile.read(path: first), try ResultsFile.read(path: second))
            print("images compared: \(report.imagesCompared), identical entries: \(report.identicalImages)")
            if !report.onlyInFirst.isEmpty { print("only in \(first): \(report.onlyInFirst.joined(separator: ", "))") }
            if !report.onlyInSecond.isEmpty { print("only in \(second): \(report.onlyInSecond.joined(separator: ", "))") }
            if !report.failureMismatches.isEmpty { print("failure in one file only: \(report.failureMismatches.joined(separator: ", "))") }
            let confidence = report.maxConfidenceError, coordinate = report.maxCoordinateError
            print("max confidence error: \(confidence.value)\(confidence.file.isEmpty ? "" : " (\(confidence.file): \(confidence.detail))")")
            print("max coordinate error: \(coordinate.value)\(coordinate.file.isEmpty ? "" : " (\(coordinate.file): \(coordinate.detail))")")
            guard report.passes(confidenceTolerance: confidenceTolerance, coordinateTolerance: coordinateTolerance) else {
                print("files differ beyond the tolerances")
                throw ExitCode(1)
            }
            print("files agree within the tolerances")
        }
    }
}
