import Foundation
import ResultsFormat

/// The reference's classification smoothing (`classification_postprocessing.py`:
/// `smooth_classification_results_image_level` and `..._sequence_level`), rule for rule: the
/// detections of one photo (or of every photo of a sequence) vote, and the majority's species
/// overwrites "other" labels (animal, blank, ...), rare disagreeing species and parent taxa
/// (a "canis species" next to coyotes becomes coyote). Only the top classification of each detection
/// is kept, as the reference keeps it; scores, boxes and categories are never changed. The document
/// is worked on as JSON so every other field and the key order survive.
public enum ClassificationSmoothing {
    /// `ClassificationSmoothingOptions`, with its defaults.
    public struct Options: Sendable {
        public var minDetectionsToOverwriteSecondary = 4
        public var maxDetectionsNondominantClass = 1
        public var minDetectionsToOverwriteSecondarySameFamily = 2
        /// The reference's default, -1, turns within-family smoothing off (every candidate is skipped).
        public var maxDetectionsNondominantClassSameFamily = -1
        public var minDetectionsToOverwriteOther = 2
        public var otherCategoryNames = ["other", "unknown", "no cv result", "animal", "blank", "mammal"]
        public var classificationConfidenceThreshold = 0.5
        public var detectionConfidenceThreshold = 0.15
        public var propagateClassificationsThroughTaxonomy = true
        public var taxonomyPropagationLevelWeight = 1.0
        public var taxonomyPropagationCountWeight = 0.01
        public var addPreSmoothingDescription = true
        /// nil: every detection category.
        public var detectionCategoryNamesToSmooth: [String]? = ["animal"]

        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case noClassificationCategories
        case unknownDetectionCategory(String)
        case unsortedClassifications(file: String)
        case invalidClassifications(file: String)
        case invalidTaxonomyString(String)
        case missingDescription(id: String)
        case duplicateFile(String)

        public var description: String {
            switch self {
            case .noClassificationCategories: return "the results file has no classification_categories (run a classifier first)"
            case let .unknownDetectionCategory(name): return "detection category \(name) is not in the file's detection_categories"
            case let .unsortedClassifications(file): return "\(file) has a detection whose classifications are not sorted by score"
            case let .invalidClassifications(file): return "\(file) has a detection whose classifications are not a list of [id, score]"
            case let .invalidTaxonomyString(text): return "invalid taxonomy string (7 lower-case ;-separated parts expected): \(text)"
            case let .missingDescription(id): return "classification category \(id) has no classification_category_descriptions entry"
            case let .duplicateFile(file): return "\(file) appears twice in the results file"
            }
        }
    }

    /// Each photo's detections smoothed on their own.
    public static func imageLevel(_ document: JSONObject, options: Options = Options()) throws -> JSONObject {
        var state = try Preparation(document, options: options)
        for pool in state.photoPools where !pool.isEmpty { try state.smooth(pool) }
        return state.finished()
    }

    /// The detections of every photo of a sequence smoothed together. `sequences` lists (sequence id,
    /// file name) pairs in the COCO Camera Traps file's order; sequences are taken in order of first
    /// appearance and their photos in list order (not by time, as the reference). Photos in no
    /// sequence keep their top classification unsmoothed. Returns the document and the files the
    /// sequences name that the results lack.
    public static func sequenceLevel(_ document: JSONObject, sequences: [(id: String, file: String)],
                                     options: Options = Options()) throws -> (document: JSONObject, missing: [String]) {
        var state = try Preparation(document, options: options)
        var order: [String] = [], files: [String: [String]] = [:]
        for (id, file) in sequences {
            if files[id] == nil { order.append(id) }
            files[id, default: []].append(file)
        }
        var missing: [String] = []
        for id in order {
            var pool: [Int] = []
            for file in files[id] ?? [] {
                guard let image = state.imageIndex[file] else {
                    missing.append(file)
                    continue
                }
                pool += state.itemsOfImage[image]
            }
            if !pool.isEmpty { try state.smooth(pool) }
        }
        return (state.finished(), missing)
    }

    /// A COCO Camera Traps file's sequence membership: its images' `seq_id` (compared as JSON values,
    /// so 1 and "1" differ) and `file_name`.
    public static func sequences(cct document: JSONObject) throws -> [(id: String, file: String)] {
        guard let images = document["images"]?.array else { throw ResultsFormatError.invalid(path: "sequence file", reason: "no images list") }
        return try images.map { value in
            guard let image = value.object, let sequence = image["seq_id"], let file = image["file_name"]?.string else {
                throw ResultsFormatError.invalid(path: "sequence file", reason: "an image without seq_id or file_name")
            }
            return (JSONWriter.serialize(sequence, indent: nil), file)
        }
    }

    /// `get_classification_description_string`: "rabbit (4), human (1)".
    static func descriptionString(_ counts: [(id: String, count: Int)], descriptions: [String: String]) throws -> String {
        try counts.map { id, count in
            guard let description = descriptions[id] else { throw Failure.missingDescription(id: id) }
            let tokens = description.split(separator: ";", omittingEmptySubsequences: false)
            guard tokens.count == 7 else { throw Failure.invalidTaxonomyString(description) }
            return "\(tokens[6].isEmpty ? "undefined category" : String(tokens[6])) (\(count))"
        }.joined(separator: ", ")
    }

    static let nonTaxonomic = [
        "f1856211-cfb7-4a5b-9158-c0f72fd09ee6;;;;;;blank",
        "f2efdae9-efb8-48fb-8a91-eccf79ab4ffb;no cv result;no cv result;no cv result;no cv result;no cv result;no cv result",
        "1f689929-883d-4dae-958c-3d57ab5b6c16;;;;;;animal",
        "e2895ed5-780b-48f6-8a11-9e27cb594511;;;;;;vehicle",
    ]

    /// `taxonomy_level_index`: 0 for non-taxonomic strings, then 3 (class) ... 7 (species), 8 (subspecies).
    static func taxonomyLevel(_ text: String) throws -> Int {
        let shortForms = nonTaxonomic.map { $0.split(separator: ";", omittingEmptySubsequences: false).dropFirst().prefix(5).joined(separator: ";") }
        if nonTaxonomic.contains(text) || shortForms.contains(text) { return 0 }
        var tokens = text.split(separator: ";", omittingEmptySubsequences: false)
        guard tokens.count == 5 || tokens.count == 7 else { throw Failure.invalidTaxonomyString(text) }
        if tokens.count == 7 { tokens = Array(tokens[1..<6]) }
        if tokens[0].isEmpty { return 0 }
        if tokens[1].isEmpty { return 3 }
        if tokens[2].isEmpty { return 4 }
        if tokens[3].isEmpty { return 5 }
        if tokens[4].isEmpty { return 6 }
        return tokens[4].contains(" ") ? 8 : 7
    }

    /// Python's `needle in haystack` (the empty string is in every string).
    static func isSubstring(_ needle: String, of haystack: String) -> Bool {
        needle.isEmpty || haystack.range(of: needle) != nil
    }
}
