import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct RepeatDetectionCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rde",
        abstract: "Repeat-detection elimination: find boxes that recur across a camera's photos, review them, remove them.",
        discussion: """
        1. megadetector rde find results.json --image-folder photos/ --output-dir review/
        2. Look at review/filtering_<time>/: delete the photos whose box is a real animal (or person, vehicle).
        3. megadetector rde remove results.json cleaned.json --filtering-dir review/filtering_<time>/
        The remaining groups' detections get negative confidences, as the reference does.
        """,
        subcommands: [Find.self, Remove.self]
    )

    struct Find: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Find suspicious repeated detections and write a review folder.")

        @Argument(help: "Results file.") var results: String
        @Option(help: "Folder the results' file names are relative to.") var imageFolder: String
        @Option(help: "Where to create the filtering_<time> review folder.") var outputDir: String
        @Option(help: "Boxes at least this similar (IoU) are the same.") var iouThreshold: Double = 0.9
        @Option(help: "A box seen this many times in a folder is suspicious.") var occurrenceThreshold: Int = 20
        @Option(help: "Ignore detections below this confidence.") var confidenceMin: Double = 0.1
        @Option(help: "Ignore detections above this confidence.") var confidenceMax: Double = 1.0
        @Option(help: "Ignore boxes smaller than this fraction of the image.") var minSuspiciousDetectionSize: Double = 0
        @Option(help: "Ignore boxes larger than this fraction of the image.") var maxSuspiciousDetectionSize: Double = 0.2
        @Option(help: "Comma-separated category ids to leave alone.") var excludeClasses: String?
        @Flag(help: "Compare boxes regardless of category.") var categoryAgnostic = false
        @Option(help: "Group photos this many folder levels above their own folder.") var nDirLevelsFromLeaf: Int = 0
        @Option(help: "Leave out folders with more photos than this.") var maxImagesPerFolder: Int?
        @Option(help: "Comma-separated folders to look at (as grouped; not with --exclude-folders).") var includeFolders: String?
        @Option(help: "Comma-separated folders to leave out (as grouped).") var excludeFolders: String?
        @Option(help: "Review photos are scaled down to this width.") var maxOutputImageWidth: Int = 2000
        @Option(help: "Box line thickness on the review photos.") var lineThickness: Int = 10
        @Option(help: "Grow the drawn box by this many pixels.") var boxExpansion: Int = 2

        func run() throws {
            try reportingErrors {
                var options = RepeatDetectionElimination.Options()
                options.iouThreshold = iouThreshold
                options.occurrenceThreshold = occurrenceThreshold
                options.confidenceMin = confidenceMin
                options.confidenceMax = confidenceMax
                options.minSuspiciousDetectionSize = minSuspiciousDetectionSize
                options.maxSuspiciousDetectionSize = maxSuspiciousDetectionSize
                options.excludeClasses = Set((excludeClasses ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
                options.categoryAgnostic = categoryAgnostic
                options.directoryLevelsFromLeaf = nDirLevelsFromLeaf
                guard maxOutputImageWidth >= 1, lineThickness >= 1, boxExpansion >= 0 else {
                    throw ValidationError("--max-output-image-width and --line-thickness must be positive, --box-expansion not negative")
                }
                guard includeFolders == nil || excludeFolders == nil else {
                    throw ValidationError("--include-folders and --exclude-folders are mutually exclusive")
                }
                func folderSet(_ list: String?) -> Set<String>? {
                    list.map { Set($0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }) }
                }
                options.maxImagesPerFolder = maxImagesPerFolder
                options.includeFolders = folderSet(includeFolders)
                options.excludeFolders = folderSet(excludeFolders)
                options.maxOutputImageWidth = maxOutputImageWidth
                options.lineThickness = lineThickness
                options.boxExpansion = boxExpansion
                let loaded = try ResultsInput.load(results)
                let groups = RepeatDetectionElimination.find(loaded, options: options)
                let formatter = DateFormatter()
                formatter.locale = Locale(identifier: "en_US_POSIX")
                formatter.dateFormat = "yyyy.MM.dd.HH.mm.ss"
                let folder = (outputDir as NSString).appendingPathComponent("filtering_" + formatter.string(from: Date()))
                let written = try RepeatDetectionElimination.writeReviewFolder(groups, results: loaded, imageFolder: imageFolder, folder: folder,
                                                                               options: options) { FileHandle.standardError.write(Data(($0 + "\n").utf8)) }
                let instances = groups.reduce(0) { $0 + $1.instances.count }
                print("Found \(groups.count) suspicious detections (\(instances) boxes); review folder: \(folder)")
                // A review that cannot show a group is not a review: say so and fail, so nobody runs
                // `rde remove` believing every group was looked at (that leaves unshown groups alone).
                let unshown = written.filter { !$0.rendered }
                if let first = unshown.first {
                    throw ValidationError("\(unshown.count) of \(written.count) groups could not be shown: none of their photos could be read (e.g. \((imageFolder as NSString).appendingPathComponent(first.instances[0].file))); check --image-folder. `rde remove` leaves those groups' detections alone.")
                }
            }
        }
    }

    struct Remove: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Negate the confidences of the suspicious detections left in the review folder.")

        @Argument(help: "Original results file.") var results: String
        @Argument(help: "Results file to write.") var output: String
        @Option(help: "The review folder `rde find` wrote (after deleting real animals).") var filteringDir: String
        @Flag(help: "Replace the output file if it exists.") var overwrite = false

        func run() throws {
            try reportingErrors {
                try OutputGuard.check(output, overwrite: overwrite, inputs: [results])
                let (document, changed, kept) = try RepeatDetectionElimination.remove(document: try ResultsInput.loadDocument(results),
                                                                                    reviewFolder: filteringDir)
                try AtomicFile.write(Data(JSONWriter.serialize(.object(document)).utf8), to: output)
                print("Removed \(changed) detections of \(kept) repeated boxes; wrote \(output)")
            }
        }
    }
}
