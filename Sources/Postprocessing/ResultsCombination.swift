import Foundation
import ResultsFormat

/// The reference's `combine_batch_output_dictionaries`: several results files into one. The first
/// file's `info` and other keys are kept, detection categories are merged (the same id with another
/// name is an error unless allowed, and then the first file's name is kept), every image appears once (a duplicate is an error unless allowed, and then a
/// success replaces a failure), images sorted by file name.
public enum ResultsCombination {
    public enum Failure: Error, CustomStringConvertible {
        case categoryConflict(id: String, first: String, second: String, file: String)
        case duplicate(file: String, input: String)
        case classificationConflict(String)

        public var description: String {
            switch self {
            case let .categoryConflict(id, first, second, file):
                return "detection category \(id) is '\(first)' in the first file but '\(second)' in \(file)"
            case let .duplicate(file, input):
                return "duplicate image \(file) in \(input) (use --allow-duplicates to keep one entry, preferring successes)"
            case let .classificationConflict(file):
                return "\(file) has different classification categories; merging classifications is not supported"
            }
        }
    }

    static let classificationFields = ["classification_categories", "classification_category_descriptions"]
    static let knownFields = ["info", "detection_categories", "images"] + classificationFields

    /// `documents` are (path, validated document) pairs, in order.
    public static func combine(_ documents: [(String, JSONObject)], allowDuplicates: Bool, allowCategoryConflicts: Bool = false,
                               log: (String) -> Void = { _ in }) throws -> JSONObject {
        var output: JSONObject?
        var images: [String: JSONObject] = [:]
        var order: [String] = []
        for (path, document) in documents {
            if var merged = output {
                for entry in document.entries where !knownFields.contains(entry.key) {
                    if merged[entry.key] != nil { log("Warning: not merging unrecognized field \(entry.key)") } else { merged[entry.key] = entry.value }
                }
                var categories = merged["detection_categories"]?.object ?? JSONObject()
                for entry in document["detection_categories"]?.object?.entries ?? [] {
                    if let existing = categories[entry.key] {
                        guard existing == entry.value else {
                            let conflict = Failure.categoryConflict(id: entry.key, first: existing.string ?? "", second: entry.value.string ?? "", file: path)
                            guard allowCategoryConflicts else { throw conflict }
                            log("Warning: \(conflict); keeping '\(existing.string ?? "")'")
                            continue
                        }
                    } else {
                        categories[entry.key] = entry.value
                    }
                }
                merged["detection_categories"] = .object(categories)
                for field in classificationFields {
                    guard let incoming = document[field], !(incoming.object?.entries.isEmpty ?? true) else { continue }
                    if let existing = merged[field], existing != incoming { throw Failure.classificationConflict(path) }
                    merged[field] = incoming
                }
                output = merged
            } else {
                var first = JSONObject()
                for entry in document.entries where entry.key != "images" {
                    if classificationFields.contains(entry.key), entry.value.object?.entries.isEmpty ?? true { continue }
                    first[entry.key] = entry.value
                }
                output = first
            }
            for value in document["images"]?.array ?? [] {
                guard var image = value.object, let rawFile = image["file"]?.string else { continue }
                let file = rawFile.replacingOccurrences(of: "\\", with: "/")
                image["file"] = .string(file)
                if let previous = images[file] {
                    guard allowDuplicates else { throw Failure.duplicate(file: file, input: path) }
                    let succeeded = !(image["detections"]?.isNull ?? true), previousSucceeded = !(previous["detections"]?.isNull ?? true)
                    if succeeded && !previousSucceeded {
                        images[file] = image
                        log("Replacing previous failure for image: \(file)")
                    }
                } else {
                    images[file] = image
                    order.append(file)
                }
            }
        }
        var result = output ?? JSONObject()
        // Python's sort: stable, by code point.
        let sorted = order.enumerated().sorted { a, b in
            let x = a.element.unicodeScalars.map(\.value), y = b.element.unicodeScalars.map(\.value)
            return x == y ? a.offset < b.offset : x.lexicographicallyPrecedes(y)
        }
        result["images"] = .array(sorted.map { .object(images[$0.element]!) })
        // The reference builds the output dict with keys in the first file's order, then images last.
        var ordered = JSONObject()
        for entry in result.entries where entry.key != "images" { ordered[entry.key] = entry.value }
        ordered["images"] = result["images"]
        return ordered
    }
}
