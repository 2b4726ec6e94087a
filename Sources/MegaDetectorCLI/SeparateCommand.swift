import ArgumentParser
import Foundation
import Postprocessing

struct SeparateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "separate",
        abstract: "Copy or move photos into animals/, people/, vehicles/, combination folders and empty/ (separate_detections_into_folders).",
        discussion: "Relative paths are kept. The results file must use paths relative to INPUT_FOLDER (detect --output-relative-filenames)."
    )

    @Argument(help: "Results file.") var results: String
    @Argument(help: "Folder the results' file names are relative to.") var inputFolder: String
    @Argument(help: "Folder to create the category folders in.") var outputFolder: String
    @Option(help: "Threshold for every category (default: the file's typical_detection_threshold).") var threshold: Double?
    @Option(help: "Threshold for animals.") var animalThreshold: Double?
    @Option(help: "Threshold for people.") var personThreshold: Double?
    @Option(help: "Threshold for vehicles.") var vehicleThreshold: Double?
    @Flag(help: "Move instead of copy (a re-run finishes an interrupted move).") var move = false
    @Flag(help: "Replace photos already in the output (by default they are left alone).") var overwrite = false
    @Flag(help: "Leave empty photos (and failures) where they are.") var skipEmpty = false
    @Flag(help: "Allow a non-empty output folder.") var allowExistingDirectory = false
    @Flag(help: "Skip photos listed in the results but missing on disk.") var allowMissingFiles = false
    @Flag(help: "Only list what would happen.") var dryRun = false
    @Flag(help: "Draw the boxes that put each photo in its folder on the copies.") var renderBoxes = false
    @Option(help: "Box line width with --render-boxes.") var lineThickness: Int = 8
    @Option(help: "Grow boxes by this many pixels with --render-boxes.") var boxExpansion: Int = 3
    @Option(help: "Comma-separated category names to blur on the copies, e.g. person.") var categoryNamesToBlur: String?
    @Option(help: "Species folders inside animals/, e.g. \"white-tailed deer=0.75,coyote=0.6\": a photo whose animals carry one listed classification above its score goes to animals/NAME/, several to animals/multiple/, none to animals/unclassified/ (names as in classification_categories).") var classificationThresholds: String?
    @Option(help: "With --classification-thresholds: the score above which an unlisted classification counts.") var unlistedCategoryThreshold: Double = 0.5

    func run() throws {
        try reportingErrors {
            var options = FolderSeparation.Options(resultsPath: results, inputFolder: inputFolder, outputFolder: outputFolder)
            options.threshold = threshold
            if let animalThreshold { options.categoryThresholds["animal"] = animalThreshold }
            if let personThreshold { options.categoryThresholds["person"] = personThreshold }
            if let vehicleThreshold { options.categoryThresholds["vehicle"] = vehicleThreshold }
            options.move = move
            options.overwrite = overwrite
            options.skipEmpty = skipEmpty
            options.allowExistingDirectory = allowExistingDirectory
            options.allowMissingFiles = allowMissingFiles
            options.dryRun = dryRun
            options.renderBoxes = renderBoxes
            options.lineThickness = lineThickness
            options.boxExpansion = boxExpansion
            options.classificationThresholds = try Self.thresholds(classificationThresholds)
            options.unlistedClassificationThreshold = unlistedCategoryThreshold
            options.blurCategories = Set((categoryNamesToBlur ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            let actions = try FolderSeparation.run(options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
            if dryRun {
                for action in actions { print("\(action.kind.rawValue): \(action.source) -> \(action.target)") }
            }
            var counts: [String: Int] = [:]
            for action in actions { counts[action.kind.rawValue, default: 0] += 1 }
            print("Separated \(actions.count) photos: " + counts.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
                  + (dryRun ? " (dry run: nothing changed)" : ""))
        }
    }

    /// "deer=0.75,cow=0.75" -> ["deer": 0.75, "cow": 0.75].
    static func thresholds(_ text: String?) throws -> [String: Double] {
        var thresholds: [String: Double] = [:]
        for token in (text ?? "").split(separator: ",") {
            let parts = token.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let value = Double(parts[1].trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("--classification-thresholds: \(token) is not NAME=SCORE")
            }
            thresholds[String(parts[0])] = value
        }
        return thresholds
    }
}
