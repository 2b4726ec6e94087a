import Foundation
import ResultsFormat

/// The reference's `combine_batch_output_dictionaries`: several results files into one. The first
/// file's `info` and other keys are kept, detection categories are merged (the same id with another
/// name is an error unless allowed, and then the first file's name is kept), classification categories are
/// merged by name, every image appears once (a duplicate is an error unless allowed, and then a
/// success replaces a failure), images sorted by file name.
public enum ResultsCombination {
    public enum Failure: Error, CustomStringConvertible {
        case categoryConflict(id: String, first: String, second: String, file: String)
        case duplicate(file: String, input: String)

        public var description: String {
            switch self {
            case let .categoryConflict(id, first, second, file):
                return "detection category \(id) is '\(first)' in the first file but '\(second)' in \(file)"
            case let .duplicate(file, input):
                return "duplicate image \(file) in \(input) (use --allow-duplicates to keep one entry, preferring successes)"
            }
        }
    }

    static let classificationFields = ["classification_categories", "classification_category_descriptions"]

    /// An empty classification category map counts as none, as in the reference.
    static func hasClassifications(_ document: JSONObject) -> Bool {
        !(document["classification_categories"]?.object?.entries.isEmpty ?? true)
    }

    /// `merge_classification_categories(target, source)`: the source's categories mapped into the target's
    /// by name (a new name gets the next integer id); descriptions, where either file has them, kept for
    /// every category (a target's empty one filled from the source, unknown ones empty), in category order;
    /// every classification of the source's images renumbered.
    static func mergeClassificationCategories(target: JSONObject, source: JSONObject)
        -> (categories: JSONObject, descriptions: JSONObject?, images: [JSONValue]) {
        var categories = target["classification_categories"]?.object ?? JSONObject()
        var nameToID: [String: String] = [:]
        for entry in categories.entries { if let name = entry.value.string { nameToID[name] = entry.key } }
        let sourceDescriptions = source["classification_category_descriptions"]?.object ?? JSONObject()
        let hasDescriptions = source["classification_category_descriptions"] != nil || target["classification_category_descriptions"] != nil
        var descriptions = target["classification_category_descriptions"]?.object ?? JSONObject()
        var mapping: [String: String] = [:]
        for entry in source["classification_categories"]?.object?.entries ?? [] {
            let name = entry.value.string ?? ""
            if let id = nameToID[name] {
                mapping[entry.key] = id
                let existing = descriptions[id]?.string ?? "", incoming = sourceDescriptions[entry.key]?.string ?? ""
                if existing.isEmpty, !incoming.isEmpty { descriptions[id] = .string(incoming) }
            } else {
                let id = String((categories.keys.compactMap { Int($0) }.max() ?? -1) + 1)
                categories[id] = .string(name)
                nameToID[name] = id
                mapping[entry.key] = id
                if let description = sourceDescriptions[entry.key] { descriptions[id] = description }
            }
        }
        let images = (source["images"]?.array ?? []).map { value -> JSONValue in
            guard var image = value.object, let detections = image["detections"]?.array else { return value }
            image["detections"] = .array(TaxaListRestriction.remapped(detections, mapping))
            return .object(image)
        }
        guard hasDescriptions else { return (categories, nil, images) }
        let ordered = JSONObject(categories.keys.map { ($0, descriptions[$0] ?? .string("")) })
        return (categories, ordered, images)
    }
    static let knownFields = ["info", "detection_categories", "images"] + classificationFields

    /// `documents` are (path, validated document) pairs, in order.
    public static func combine(_ documents: [(String, JSONObject)], allowDuplicates: Bool, allowCategoryConflicts: Bool = false,
                               log: (String) -> Void = { _ in }) throws -> JSONObject {
        var output: JSONObject?
        var images: [String: JSONObject] = [:]
        var order: [String] = []
        for (path, document) in documents {
            var incoming = document["images"]?.array ?? []
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
                // Classification categories are merged by name (merge_classification_categories): this file's
                // ids are mapped into the output's, new names get new ids.
                if hasClassifications(document), hasClassifications(merged) {
                    let result = mergeClassificationCategories(target: merged, source: document)
                    merged["classification_categories"] = .object(result.categories)
                    if let descriptions = result.descriptions { merged["classification_category_descriptions"] = .object(descriptions) }
                    incoming = result.images
                } else if hasClassifications(document) {
                    for field in classificationFields { if let value = document[field] { merged[field] = value } }
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
            for value in incoming {
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
