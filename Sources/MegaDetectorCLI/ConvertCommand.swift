import ArgumentParser
import Foundation
import Imaging
import Postprocessing
import ResultsFormat

struct ConvertCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "convert",
        abstract: "Convert a results file: --to coco (md_to_coco), csv (convert_output_format), labelme (md_to_labelme), wi (md_to_wi), report (generate_csv_report); or speciesnet's predictions.json --to md (speciesnet_to_md).",
        discussion: "For labelme, OUTPUT is the photo folder: one .json is written next to each photo."
    )

    enum Target: String, ExpressibleByArgument { case coco, csv, labelme, json, wi, report, md }

    @Argument(help: "Results file.") var input: String
    @Argument(help: "Output file.") var output: String
    @Option(help: "coco, csv, labelme, wi (Wildlife Insights predictions.json), report, json (from a legacy CSV), or md (from speciesnet's predictions.json).") var to: Target
    @Option(help: "wi: folder to prepend to the (relative) file names; md: folder to remove from the front of speciesnet's file paths.") var baseFolder: String?
    @Flag(help: "md: leave out raw_classifications.") var noRawClassifications = false
    @Option(help: "report: a results file with datetime fields, or the photo folder (EXIF), for the datetime column.") var datetimeSource: String?
    @Option(help: "report: comma-separated folder levels (0 = top) to give their own columns.") var folderLevelColumns: String?
    @Option(help: "report: count detections at or above this (default: the file's typical threshold).") var detectionConfidenceThreshold: Double?
    @Option(help: "COCO: keep detections at or above this confidence (0.15); CSV: minimum confidence (none).") var confidenceThreshold: Double?
    @Option(help: "COCO: folder of the photos, when the results lack width/height.") var imageFolder: String?
    @Flag(help: "COCO: keep failed images (with a 'failure' field).") var includeFailedImages = false
    @Flag(help: "COCO: keep confidences (as 'score') and other per-image fields.") var preserveNonstandardMetadata = false
    @Flag(help: "CSV: leave out the detections column.") var omitBoundingBoxes = false
    @Flag(help: "Replace the output file if it exists.") var overwrite = false

    func run() throws {
        try reportingErrors {
            if to != .labelme { try OutputGuard.check(output, overwrite: overwrite, inputs: [input]) }
            if to == .json {
                let text = try String(contentsOfFile: input, encoding: .utf8)
                let results = try LegacyCSV.results(fromCSV: text)
                try results.write(to: output)
                print("Wrote \(results.images.count) images to \(output)")
                return
            }
            if to == .md {
                var options = SpeciesNetToMegaDetector.Options()
                options.baseFolder = baseFolder
                options.includeRawClassifications = !noRawClassifications
                let converted = try SpeciesNetToMegaDetector.convert(try ResultsFile.readJSONObject(path: input), options: options)
                // As the reference writes it: indent 1, ASCII, no final newline.
                try AtomicFile.write(Data(JSONWriter.serialize(.object(converted)).utf8), to: output)
                print("Wrote \(converted["images"]?.array?.count ?? 0) images to \(output)")
                return
            }
            let results = try ResultsInput.load(input)
            switch to {
            case .coco:
                let coco = try FormatConversion.coco(
                    results, inputPath: input, confidenceThreshold: confidenceThreshold ?? 0.15,
                    includeFailedImages: includeFailedImages, preserveNonstandardMetadata: preserveNonstandardMetadata
                ) { file in
                    guard let imageFolder else {
                        throw ValidationError("\(file) has no width/height in the results; give --image-folder")
                    }
                    return try MediaSize.of((imageFolder as NSString).appendingPathComponent(file))
                }
                try AtomicFile.write(Data(JSONWriter.serialize(.object(coco)).utf8), to: output)
                print("Wrote \(coco["images"]?.array?.count ?? 0) images and \(coco["annotations"]?.array?.count ?? 0) annotations to \(output)")
            case .labelme:
                let report = try LabelMeExport.write(results, document: try ResultsInput.loadDocument(input), imageFolder: output,
                                                     confidenceThreshold: confidenceThreshold ?? 0.15, overwrite: overwrite) { path in
                    try MediaSize.of(path)
                }
                print("Wrote \(report.written.count) LabelMe files; \(report.skippedExisting.count) existing kept, \(report.failures.count) failed photos skipped")
            case .json, .md:
                break
            case .report:
                var options = PhotoReport.Options()
                options.detectionThreshold = detectionConfidenceThreshold
                options.folderLevels = (folderLevelColumns ?? "").split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
                if let datetimeSource {
                    var isDirectory: ObjCBool = false
                    _ = FileManager.default.fileExists(atPath: datetimeSource, isDirectory: &isDirectory)
                    if isDirectory.boolValue {
                        var map: [String: String] = [:]
                        for image in results.images {
                            let photo = (datetimeSource as NSString).appendingPathComponent(image.file)
                            map[image.file] = (try? ImageDecoder.exif(path: photo))?.dateTimeOriginal ?? ""
                        }
                        options.datetimes = map
                    } else {
                        options.datetimes = PhotoReport.datetimes(fromResults: try ResultsFile.readJSONObject(path: datetimeSource))
                    }
                }
                let rows = PhotoReport.rows(try ResultsInput.loadDocument(input), options: options)
                try AtomicFile.write(Data(LegacyCSV.text(rows).utf8), to: output)
                print("Wrote \(rows.count - 1) rows to \(output)")
            case .wi:
                let predictions = FormatConversion.wildlifeInsights(try ResultsInput.loadDocument(input), baseFolder: baseFolder)
                try AtomicFile.write(Data(JSONWriter.serialize(.object(predictions)).utf8), to: output)
                print("Wrote \(predictions["predictions"]?.array?.count ?? 0) predictions to \(output)")
            case .csv:
                let rows = LegacyCSV.rows(results, minimumConfidence: confidenceThreshold, omitBoxes: omitBoundingBoxes)
                try AtomicFile.write(Data(LegacyCSV.text(rows).utf8), to: output)
                print("Wrote \(rows.count - 1) rows to \(output)")
            }
        }
    }
}
