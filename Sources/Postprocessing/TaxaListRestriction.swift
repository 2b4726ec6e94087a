import Foundation
import ResultsFormat

/// The reference's `restrict_to_taxa_list` (`classification_postprocessing.py`): every classification
/// category is moved to the nearest taxon of a custom species list (a CSV of `latin` and `common`
/// names, optional `original_common`) that the SpeciesNet taxonomy file places above it, so a survey
/// that only expects its own species gets labels from that list ("canis latrans" stays coyote, a
/// "canis species" with no canid on the list becomes "carnivorous mammal", ...). Rule for rule, including
/// its quirks (GUIDs of mapped taxa become the text `guid`; see the README).
public enum TaxaListRestriction {
    public struct Options: Sendable {
        /// Where a listed taxon has exactly one listed descendant line, go down to it.
        public var allowWalkDown = false
        public var addPreFilteringDescription = true
        public var addPostFilteringDescription = true
        public var allowRedundantLatinNames = true
        /// Common names (from the descriptions) whose categories are kept as they are.
        public var protectedCommonNames: [String]?
        public var useOriginalCommonNamesIfAvailable = true
        /// Score threshold for the two descriptions only (nil: 0.5).
        public var classificationThreshold: Double?
        /// Merge categories that end with the same name (`combine_redundant_classification_categories`).
        public var combineRedundantCategories = true

        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case taxaList(String)
        case taxonomy(String)
        case notInTaxonomy([String])
        case results(String)

        public var description: String {
            switch self {
            case let .taxaList(reason): return "taxa list: \(reason)"
            case let .taxonomy(reason): return "taxonomy file: \(reason)"
            case let .notInTaxonomy(names): return "taxa list names not in the taxonomy file: \(names.joined(separator: ", "))"
            case let .results(reason): return "results file: \(reason)"
            }
        }
    }

    /// The restricted document. `taxaList` is the CSV's text, `taxonomy` the taxonomy file's.
    public static func restrict(_ document: JSONObject, taxaList: String, taxonomy: String, options: Options = Options()) throws -> JSONObject {
        let targets = try TaxaListFile(csv: taxaList, options: options)
        let tree = try TaxonomyTree(text: taxonomy, targets: targets)
        guard let descriptions = document["classification_category_descriptions"]?.object else {
            throw Failure.results("no classification_category_descriptions (taxonomy strings are needed to restrict)")
        }
        // Each input category's output taxon string, then output ids in first-seen order.
        var mapping: [String: String] = [:]
        var outputs: [(id: String, name: String, taxon: String)] = []
        let taxonToLatin = Dictionary(tree.latinOrder.map { (tree.latinToTaxon[$0]!, $0) }, uniquingKeysWith: { _, last in last })
        for entry in descriptions.entries {
            let description = entry.value.string ?? ""
            let output = try tree.target(for: description, options: options)
            var name = String(output.split(separator: ";", omittingEmptySubsequences: false).last ?? "")
            if let latin = taxonToLatin[output], let common = tree.latinToOutputCommon[latin] { name = common }
            if let existing = outputs.first(where: { $0.taxon == output }) {
                mapping[entry.key] = existing.id
            } else {
                let id = String(outputs.count)
                outputs.append((id, name, output))
                mapping[entry.key] = id
            }
        }
        var result = document
        let threshold = options.classificationThreshold ?? 0.5
        let originalDescriptions = Dictionary(descriptions.entries.compactMap { entry in entry.value.string.map { (entry.key, $0) } },
                                              uniquingKeysWith: { first, _ in first })
        let outputDescriptions = Dictionary(uniqueKeysWithValues: outputs.map { ($0.id, $0.taxon) })
        var images = result["images"]?.array ?? []
        for index in images.indices {
            guard var image = images[index].object, var detections = image["detections"]?.array else { continue }
            if options.addPreFilteringDescription {
                image["pre_filtering_description"] = .string(try describe(detections, threshold: threshold, descriptions: originalDescriptions))
            }
            detections = remapped(detections, mapping)
            image["detections"] = .array(detections)
            if options.addPostFilteringDescription {
                image["post_filtering_description"] = .string(try describe(detections, threshold: threshold, descriptions: outputDescriptions))
            }
            images[index] = .object(image)
        }
        result["images"] = .array(images)
        result["classification_categories"] = .object(JSONObject(outputs.map { ($0.id, .string($0.name)) }))
        result["classification_category_descriptions"] = .object(JSONObject(outputs.map { ($0.id, .string($0.taxon)) }))
        return options.combineRedundantCategories ? try combineRedundantCategories(result) : result
    }

    /// Every entry of every detection's classifications (not only the best) given its new id.
    public static func remapped(_ detections: [JSONValue], _ mapping: [String: String]) -> [JSONValue] {
        detections.map { value in
            guard var detection = value.object, let list = detection["classifications"]?.array else { return value }
            detection["classifications"] = .array(list.map { entry in
                guard var pair = entry.array, let id = pair.first?.string, let mapped = mapping[id] else { return entry }
                pair[0] = .string(mapped)
                return .array(pair)
            })
            return .object(detection)
        }
    }

    /// `get_classification_description_string(count_detections_by_classification_category(...))` with
    /// no detection-category filter: the best classification of each detection at or above 0.15.
    static func describe(_ detections: [JSONValue], threshold: Double, descriptions: [String: String]) throws -> String {
        var counted: [String] = []
        for case let .object(detection) in detections {
            guard let list = detection["classifications"]?.array, (detection["conf"]?.number ?? 0) >= 0.15 else { continue }
            guard let top = list.first?.array, top.count >= 2, let id = top[0].string, let score = top[1].number else {
                throw Failure.results("a detection with an empty or malformed classifications list")
            }
            if score >= threshold { counted.append(id) }
        }
        return try ClassificationSmoothing.descriptionString(Tally.counts(counted).map { ($0.key, $0.count) }, descriptions: descriptions)
    }

    /// `combine_redundant_classification_categories`: categories with the same name become one (ids
    /// renumbered by first appearance of the name), their descriptions joined with `|`, most used first.
    public static func combineRedundantCategories(_ document: JSONObject, classificationThreshold: Double = 0.5) throws -> JSONObject {
        let categories = document["classification_categories"]?.object?.entries.compactMap { entry in entry.value.string.map { (entry.key, $0) } } ?? []
        var names: [String] = [], idsByName: [String: [String]] = [:]
        for (id, name) in categories {
            if idsByName[name] == nil { names.append(name) }
            idsByName[name, default: []].append(id)
        }
        guard idsByName.values.contains(where: { $0.count > 1 }) else { return document }
        var mapping: [String: String] = [:]
        for (index, name) in names.enumerated() { for id in idsByName[name]! { mapping[id] = String(index) } }
        var result = document
        var images = result["images"]?.array ?? []
        if let descriptions = document["classification_category_descriptions"]?.object {
            guard descriptions.entries.count == categories.count else { throw Failure.results("as many descriptions as categories are needed") }
            var uses: [String: Int] = [:]
            for case let .object(image) in images {
                for case let .object(detection) in image["detections"]?.array ?? [] {
                    guard let list = detection["classifications"]?.array else { continue }
                    guard let top = list.first?.array, top.count >= 2, let id = top[0].string, let score = top[1].number else {
                        throw Failure.results("a detection with an empty or malformed classifications list")
                    }
                    if score >= classificationThreshold, let description = descriptions[id]?.string { uses[description, default: 0] += 1 }
                }
            }
            result["classification_category_descriptions"] = .object(JSONObject(names.enumerated().map { index, name in
                let texts = idsByName[name]!.compactMap { descriptions[$0]?.string }
                let ordered = texts.count > 1 ? texts.enumerated().sorted { (uses[$0.element] ?? 0) != (uses[$1.element] ?? 0) ? (uses[$0.element] ?? 0) > (uses[$1.element] ?? 0) : $0.offset < $1.offset }.map(\.element) : texts
                return (String(index), .string(ordered.joined(separator: "|")))
            }))
        }
        for index in images.indices {
            guard var image = images[index].object, let detections = image["detections"]?.array else { continue }
            image["detections"] = .array(remapped(detections, mapping))
            images[index] = .object(image)
        }
        result["images"] = .array(images)
        result["classification_categories"] = .object(JSONObject(names.enumerated().map { (String($0.offset), .string($0.element)) }))
        return result
    }
}
