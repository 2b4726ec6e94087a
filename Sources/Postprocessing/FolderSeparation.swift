import Foundation
import Imaging
import ResultsFormat
import VideoDecoding

/// The reference's `separate_detections_into_folders`: copy (or move) each photo into `animals/`,
/// `people/`, `vehicles/`, a combination folder (`animal_person/`, ...), `empty/` or
/// `processing_failure/`, keeping its relative path. A photo goes to the folders of every category
/// whose highest confidence reaches that category's threshold.
public struct FolderSeparation {
    public struct Options: Sendable {
        public var resultsPath: String
        public var inputFolder: String
        public var outputFolder: String
        /// Default threshold; nil: the file's `typical_detection_threshold` (0.2 for unknown detectors).
        public var threshold: Double?
        /// Per category name ("animal", "person", "vehicle", or the file's names).
        public var categoryThresholds: [String: Double] = [:]
        public var move = false
        /// Replace photos already at the target (the reference replaces by default; we do not, so a
        /// re-run never clobbers files someone has since edited).
        public var overwrite = false
        public var skipEmpty = false
        public var allowExistingDirectory = false
        public var allowMissingFiles = false
        public var dryRun = false
        /// Draw the above-threshold boxes on the copies (not with `move`).
        public var renderBoxes = false
        public var lineThickness = 8
        public var boxExpansion = 3
        /// Category names whose above-threshold boxes are blurred on the copies (privacy).
        public var blurCategories: Set<String> = []
        /// Species folders inside `animals/` (the reference's `--classification_thresholds`): classification
        /// name -> the score a classification must pass (strictly). Empty: no species folders.
        public var classificationThresholds: [String: Double] = [:]
        /// A classification not in `classificationThresholds` counts as present above this (strictly).
        public var unlistedClassificationThreshold = 0.5

        public init(resultsPath: String, inputFolder: String, outputFolder: String) {
            self.resultsPath = resultsPath
            self.inputFolder = inputFolder
            self.outputFolder = outputFolder
        }
    }

    public struct Action: Equatable, Sendable {
        public enum Kind: String, Sendable { case copy, move, skipExisting = "skip (exists)", alreadyMoved = "already moved", skipEmpty = "skip (empty)" }
        public var kind: Kind
        public var source: String
        public var target: String
    }

    public enum Failure: Error, CustomStringConvertible {
        case unknownClassification(String, available: [String])
        case outputNotEmpty(String)
        case absolutePath(String)
        case missingPhoto(String)
        case invalidResults(String)
        case renderWhileMoving

        public var description: String {
            switch self {
            case let .unknownClassification(name, available):
                return available.isEmpty ? "species folders need a results file with classifications (classification_categories); this one has none"
                    : "\(name) is not a classification category of this results file (it has: \(available.sorted().joined(separator: ", ")))"
            case let .outputNotEmpty(path): return "output folder \(path) exists and is not empty (use --allow-existing-directory to add to it, e.g. to finish an interrupted move)"
            case let .absolutePath(file): return "results file holds an absolute path (\(file)); separation needs paths relative to the input folder"
            case let .missingPhoto(path): return "cannot find \(path) (use --allow-missing-files to skip missing photos)"
            case let .invalidResults(reason): return reason
            case .renderWhileMoving: return "rendering boxes or blurring needs copies; it cannot be combined with --move"
            }
        }
    }

    static let friendlyNames = ["animal": "animals", "person": "people", "vehicle": "vehicles"]

    /// Plans (and unless `dryRun`, performs) the separation. Returns what was done, photo by photo.
    public static func run(_ options: Options, log: (String) -> Void = { _ in }) throws -> [Action] {
        if options.move && (options.renderBoxes || !options.blurCategories.isEmpty) { throw Failure.renderWhileMoving }
        let results = try ResultsInput.load(options.resultsPath)
        let fileManager = FileManager.default
        if let contents = try? fileManager.contentsOfDirectory(atPath: options.outputFolder), !contents.isEmpty,
           !options.allowExistingDirectory {
            throw Failure.outputNotEmpty(options.outputFolder)
        }
        for image in results.images where image.file.hasPrefix("/") { throw Failure.absolutePath(image.file) }
        let defaultThreshold = options.threshold ?? ResultsInput.typicalThreshold(results)
        let names = results.detectionCategories.map(\.1).sorted()
        let categoryNames = Dictionary(results.detectionCategories, uniquingKeysWith: { first, _ in first })
        let thresholds = Dictionary(uniqueKeysWithValues: names.map { ($0, options.categoryThresholds[$0] ?? defaultThreshold) })
        let classificationNames = Dictionary(results.classificationCategories ?? [], uniquingKeysWith: { first, _ in first })
        for name in options.classificationThresholds.keys where !classificationNames.values.contains(name) {
            throw Failure.unknownClassification(name, available: Array(classificationNames.values))
        }
        var folders = ["empty": "empty", "failure": "processing_failure"]
        for length in 1...max(names.count, 1) where !names.isEmpty {
            for combination in combinations(names, length) {
                let key = combination.joined(separator: "_")
                folders[key] = length == 1 ? (friendlyNames[key] ?? key) : key
            }
        }
        if !options.dryRun {
            for folder in Set(folders.values) {
                try fileManager.createDirectory(atPath: (options.outputFolder as NSString).appendingPathComponent(folder),
                                                withIntermediateDirectories: true)
            }
        }
        var actions: [Action] = []
        for image in results.images {
            let key: String
            var empty = false
            if let detections = image.detections {
                var best: [String: Double] = [:]
                for detection in detections {
                    guard let name = categoryNames[detection.category] else {
                        log("Warning: unrecognized category \(detection.category) in file \(image.file)")
                        continue
                    }
                    best[name] = max(best[name] ?? 0, detection.conf)
                }
                let above = names.filter { (best[$0] ?? 0) >= thresholds[$0]! }
                key = above.isEmpty ? "empty" : above.joined(separator: "_")
                empty = above.isEmpty
            } else {
                key = "failure"
                empty = true
            }
            var folder = folders[key]!
            if key == "animal", !options.classificationThresholds.isEmpty {
                let animals = (image.detections ?? []).filter { categoryNames[$0.category] == "animal" && $0.conf >= thresholds["animal"]! }
                folder = (folder as NSString).appendingPathComponent(speciesFolder(animals, names: classificationNames, options: options))
            }
            let source = (options.inputFolder as NSString).appendingPathComponent(image.file)
            let target = ((options.outputFolder as NSString).appendingPathComponent(folder) as NSString).appendingPathComponent(image.file)
            // Boxes of the categories that put the photo in its folder, each at its own threshold.
            let shown = (image.detections ?? []).filter { detection in
                guard let name = categoryNames[detection.category] else { return false }
                return detection.conf >= thresholds[name]!
            }
            let drawing = !empty && (options.renderBoxes || !options.blurCategories.isEmpty) && !options.dryRun
            let action = try place(source: source, target: target, empty: empty, options: options)
            // A clip is moved or copied whole, as the reference does; boxes are only drawn on photos.
            if drawing, action.kind == .copy, !VideoFiles.isVideo(image.file) {
                try drawOnCopy(target, shown, categoryNames: categoryNames, options: options)
            }
            actions.append(action)
        }
        return actions
    }

    /// The species folder of a photo whose only category above threshold is animal, from its animal
    /// boxes above threshold: the one listed species found (any classification of a box, not only
    /// the first), "multiple" for several listed ones (or, as the reference's code has it, one listed
    /// with two or more unlisted ones above their bar), "unclassified" for none.
    static func speciesFolder(_ animals: [DetectionResult], names: [String: String], options: Options) -> String {
        var listed: Set<String> = [], unlisted: Set<String> = []
        for detection in animals {
            for (category, score) in detection.classifications ?? [] {
                guard let name = names[category] else { continue }
                if let threshold = options.classificationThresholds[name] {
                    if score > threshold { listed.insert(name) }
                } else if score > options.unlistedClassificationThreshold {
                    unlisted.insert(name)
                }
            }
        }
        if listed.isEmpty { return "unclassified" }
        if listed.count > 1 || unlisted.count > 1 { return "multiple" }
        return listed.first!
    }

    /// One photo: decide, then copy or move it. A move is a rename when possible; otherwise copy to a
    /// temporary name, rename, then delete the source, so an interrupted run can simply be repeated.
    static func place(source: String, target: String, empty: Bool, options: Options) throws -> Action {
        let fileManager = FileManager.default
        let sourceExists = fileManager.fileExists(atPath: source), targetExists = fileManager.fileExists(atPath: target)
        if !sourceExists {
            if options.move && targetExists { return Action(kind: .alreadyMoved, source: source, target: target) }
            if options.allowMissingFiles { return Action(kind: .skipExisting, source: source, target: target) }
            throw Failure.missingPhoto(source)
        }
        if targetExists && !options.overwrite {
            // A move interrupted after its copy left the same bytes in both places: finish it. Any other
            // file already at the target is the user's and stays; so does the photo.
            if options.move, try sameContents(source, target) {
                if !options.dryRun { try fileManager.removeItem(atPath: source) }
                return Action(kind: .alreadyMoved, source: source, target: target)
            }
            return Action(kind: .skipExisting, source: source, target: target)
        }
        // The reference creates the target's folder before deciding to skip an empty photo; the
        // folder tree matches it.
        if !options.dryRun {
            try fileManager.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        }
        if empty && options.skipEmpty { return Action(kind: .skipEmpty, source: source, target: target) }
        let action = Action(kind: options.move ? .move : .copy, source: source, target: target)
        guard !options.dryRun else { return action }
        if options.move {
            if rename(source, target) == 0 { return action }
            // Across file systems: a complete copy under a temporary name first, then the rename.
            try copy(source, to: target)
            try fileManager.removeItem(atPath: source)
        } else {
            try copy(source, to: target)
        }
        return action
    }

    /// Re-encodes a copied photo with its boxes drawn and/or chosen categories blurred.
    static func drawOnCopy(_ path: String, _ detections: [DetectionResult], categoryNames: [String: String], options: Options) throws {
        var image = try ImageDecoder.decode(path: path).image
        let renderer = DetectionRenderer(threshold: 0, boxThickness: options.lineThickness, boxExpansion: options.boxExpansion,
                                         categories: categoryNames)
        for detection in detections where options.blurCategories.contains(categoryNames[detection.category] ?? "") {
            let box = renderer.pixelBox(detection.bbox, width: image.width, height: image.height)
            image.blur(x0: box.x0, y0: box.y0, x1: box.x1 + 1, y1: box.y1 + 1, radius: 40)
        }
        if options.renderBoxes { renderer.render(detections, on: &image, font: nil) }
        try AtomicFile.write(image.jpegData(quality: 90), to: path)
    }

    /// Whether two files hold the same bytes (sizes first, then the contents a megabyte at a time).
    static func sameContents(_ a: String, _ b: String) throws -> Bool {
        let sizeA = try FileManager.default.attributesOfItem(atPath: a)[.size] as? Int
        let sizeB = try FileManager.default.attributesOfItem(atPath: b)[.size] as? Int
        guard sizeA == sizeB, let first = FileHandle(forReadingAtPath: a), let second = FileHandle(forReadingAtPath: b) else { return false }
        defer { try? first.close(); try? second.close() }
        while true {
            let chunkA = first.readData(ofLength: 1 << 20), chunkB = second.readData(ofLength: 1 << 20)
            if chunkA != chunkB { return false }
            if chunkA.isEmpty { return true }
        }
    }

    static func copy(_ source: String, to target: String) throws {
        let temporary = target + ".partial"
        try? FileManager.default.removeItem(atPath: temporary)
        try FileManager.default.copyItem(atPath: source, toPath: temporary)
        guard rename(temporary, target) == 0 else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target])
        }
    }

    static func combinations(_ items: [String], _ length: Int) -> [[String]] {
        if length == 0 { return [[]] }
        guard items.count >= length else { return [] }
        var result: [[String]] = []
        for (index, item) in items.enumerated() {
            for rest in combinations(Array(items[(index + 1)...]), length - 1) { result.append([item] + rest) }
        }
        return result
    }
}
