import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct CropsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crops",
        abstract: "Save every detection above a threshold as a JPEG crop (create_crop_folder)."
    )

    @Argument(help: "Results file.") var results: String
    @Argument(help: "Folder the results' file names are relative to.") var imageFolder: String
    @Argument(help: "Folder for the crops (the photos' folder tree is mirrored).") var outputFolder: String
    @Option(help: "Crop detections at or above this confidence.") var confidenceThreshold: Double = 0.1
    @Option(help: "Grow each crop by this many pixels.") var expansion: Int = 0
    @Option(help: "JPEG quality.") var quality: Int = 95
    @Option(help: "Comma-separated category names to crop (default all).") var categoryNames: String?
    @Option(help: "Write the results with crop_id / crop_filename_relative on each cropped detection.") var outputFile: String?
    @Flag(help: "Replace the --output-file if it exists.") var overwrite = false

    func run() throws {
        try reportingErrors {
            if let outputFile { try OutputGuard.check(outputFile, overwrite: overwrite, inputs: [results]) }
            var options = CropFolder.Options()
            options.confidenceThreshold = confidenceThreshold
            options.expansion = expansion
            options.quality = quality
            options.categoryNames = categoryNames.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
            let (document, report) = try CropFolder.run(document: try ResultsInput.loadDocument(results), imageFolder: imageFolder,
                                                        outputFolder: outputFolder, options: options) {
                FileHandle.standardError.write(Data(($0 + "\n").utf8))
            }
            if let outputFile { try AtomicFile.write(Data(JSONWriter.serialize(.object(document)).utf8), to: outputFile) }
            print("Wrote \(report.crops.count) crops to \(outputFolder)\(report.failures.isEmpty ? "" : "; \(report.failures.count) photos could not be read")")
        }
    }
}
