import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct CombineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "combine",
        abstract: "Combine several results files into one (combine_batch_outputs)."
    )

    @Argument(help: "Input results files, then the output file.") var paths: [String]
    @Flag(help: "Allow an image in several inputs: keep one entry, a success over a failure.") var allowDuplicates = false
    @Flag(help: "Allow a category id named differently in another input: keep the first file's name.") var allowCategoryConflicts = false
    @Flag(help: "Replace the output file if it exists.") var overwrite = false

    func run() throws {
        try reportingErrors {
            guard paths.count >= 3 else { throw ValidationError("give at least two input files and an output file") }
            let output = paths.last!, inputs = paths.dropLast()
            try OutputGuard.check(output, overwrite: overwrite, inputs: Array(inputs))
            let documents = try inputs.map { ($0, try ResultsInput.loadDocument($0)) }
            let combined = try ResultsCombination.combine(documents, allowDuplicates: allowDuplicates,
                                                          allowCategoryConflicts: allowCategoryConflicts) {
                FileHandle.standardError.write(Data(($0 + "\n").utf8))
            }
            try AtomicFile.write(Data(JSONWriter.serialize(.object(combined)).utf8), to: output)
            print("Combined \(inputs.count) files: \(combined["images"]?.array?.count ?? 0) images written to \(output)")
        }
    }
}
