import ArgumentParser
import Foundation
import ResultsFormat

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a MegaDetector results file against the format's rules (the reference validator's)."
    )

    @Argument(help: "Results file (.json).") var file: String

    func run() throws {
        try reportingErrors {
            guard let data = FileManager.default.contents(atPath: file) else {
                throw ResultsFormatError.unreadable(path: file, reason: "no such file")
            }
            let report = ResultsValidator.validate(try JSONParser.parse([UInt8](data)))
            for warning in report.warnings { print("warning: \(warning)") }
            guard report.isValid else { throw ValidationError("\(file) is not a valid results file: \(report.errors[0])") }
            let counts = report.detectionCounts.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(separator: ", ")
            print("\(file) is valid: \(report.imageCount) images, detections per category {\(counts)}")
        }
    }
}
