import Classification
import Foundation
import ResultsFormat

/// The reference's `generate_md_results_from_predictions_json` (speciesnet_to_md): speciesnet's
/// `predictions.json` as a MegaDetector results file, so Timelapse, the report and every command here
/// can read it. Each classified detection gets its processed classification (or the classifier's top
/// one) as `classifications` and the classifier's top ones as `raw_classifications`; a whole-image
/// classification goes onto every detection of its photo (onto an "unknown" whole-photo detection
/// where there is none and it is not blank); "human" detections become "person"; numbers are
/// rounded to 5 decimals first.
public enum SpeciesNetToMegaDetector {
    public struct Options: Sendable {
        /// Removed from the front of each file path (with the following slash).
        public var baseFolder: String?
        public var includeRawClassifications = true
        /// The ensemble often rolls humans up to "homo species"; show them as humans.
        public var convertHomoSpeciesToHuman = true
        public var convertHumanToPerson = true

        public init() {}
    }

    public struct Failure: Error, CustomStringConvertible {
        public let reason: String
        public var description: String { "not a speciesnet predictions.json file: \(reason)" }
    }

    public static func convert(_ document: JSONObject, options: Options = Options()) throws -> JSONObject {
        guard document["info"]?.object?["format_version"] != nil else { throw Failure(reason: "no info.format_version (an older format?)") }
        guard let predictions = (JSONValue.object(document).roundingFloats(places: 5).object?["predictions"]?.array) else {
            throw Failure(reason: "no predictions list")
        }
        let base = options.baseFolder?.replacingOccurrences(of: "\\", with: "/")
        var detectionCategories = JSONObject()
        var numbering = LabelIDs()
        var images: [JSONObject] = []
        var fakeDetections: [(image: Int, detection: Int)] = []
        for value in predictions {
            guard let prediction = value.object, var file = prediction["filepath"]?.string?.replacingOccurrences(of: "\\", with: "/") else {
                throw Failure(reason: "a prediction without filepath")
            }
            if let base {
                if file.hasPrefix(base + "/") { file = String(file.dropFirst(base.count + 1)) } else if file.hasPrefix(base) { file = String(file.dropFirst(base.count)) }
            }
            var image = JSONObject([("file", .string(file))])
            if let failures = prediction["failures"]?.array {
                // Python's str() of the list: ['CLASSIFIER', 'DETECTOR'].
                image["failure"] = .string("[" + failures.compactMap(\.string).map { "'\($0)'" }.joined(separator: ", ") + "]")
                image["detections"] = .null
                images.append(image)
                continue
            }
            let all = (prediction["detections"]?.array ?? []).compactMap(\.object)
            let wholeImage = all.filter { $0["category"]?.string == "0" }
            guard wholeImage.count <= 1 else { throw Failure(reason: "several whole-image detections for \(file)") }
            var detections: [JSONObject] = []
            for detection in all where detection["category"]?.string != "0" {
                guard let category = detection["category"]?.string, let label = detection["label"]?.string else {
                    throw Failure(reason: "a detection without category or label in \(file)")
                }
                if let known = detectionCategories[category], known != .string(label) {
                    throw Failure(reason: "category \(category) is both \(known.string ?? "") and \(label)")
                }
                detectionCategories[category] = .string(label)
                var output = JSONObject(["category", "conf", "bbox"].compactMap { key in detection[key].map { (key, $0) } })
                let (classifications, raw) = try classifications(of: detection, numbering: &numbering, options: options)
                if let classifications {
                    output["classifications"] = classifications
                    if options.includeRawClassifications, let raw { output["raw_classifications"] = raw }
                }
                detections.append(output)
            }
            if let whole = wholeImage.first {
                let (classifications, raw) = try classifications(of: whole, numbering: &numbering, options: options)
                if let classifications, let top = classifications.array?.first?.array, let id = top.first?.string {
                    if detections.isEmpty, numbering.label(of: id) != SpeciesNetTaxonomy.blank {
                        fakeDetections.append((images.count, 0))
                        detections.append(JSONObject([("category", .string("unknown")), ("conf", top[1]),
                                                      ("bbox", .array([.int(0), .int(0), .int(1), .int(1)]))]))
                    }
                    for index in detections.indices {
                        detections[index]["classifications"] = classifications
                        if options.includeRawClassifications, let raw { detections[index]["raw_classifications"] = raw }
                    }
                }
            }
            image["detections"] = .array(detections.map { .object($0) })
            images.append(image)
        }
        if !fakeDetections.isEmpty {
            let id = String((detectionCategories.keys.compactMap { Int($0) }.max() ?? -1) + 1)
            detectionCategories[id] = .string("unknown")
            for (image, detection) in fakeDetections {
                var detections = images[image]["detections"]?.array ?? []
                if var fake = detections[detection].object {
                    fake["category"] = .string(id)
                    detections[detection] = .object(fake)
                }
                images[image]["detections"] = .array(detections)
            }
        }
        if options.convertHumanToPerson {
            for key in detectionCategories.keys where detectionCategories[key] == .string("human") { detectionCategories[key] = .string("person") }
        }
        // sorted(key=file): stable, by code point.
        let sorted = images.enumerated().sorted { a, b in
            let (x, y) = (a.element["file"]?.string ?? "", b.element["file"]?.string ?? "")
            return x == y ? a.offset < b.offset : x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars)
        }.map(\.element)
        let info = JSONObject([("format_version", .string("1.6")), ("detector", .string("converted_from_predictions_json"))])
        return JSONObject([
            ("info", .object(info)), ("detection_categories", .object(detectionCategories)),
            ("classification_categories", .object(JSONObject(try numbering.labels.enumerated().map { (String($0.offset), .string(try SpeciesNetTaxonomy.commonName($0.element))) }))),
            ("classification_category_descriptions", .object(JSONObject(numbering.labels.enumerated().map { (String($0.offset), .string($0.element)) }))),
            ("images", .array(sorted.map { .object($0) })),
        ])
    }

    /// Label -> "0", "1", ... in order of first use (`classification_category_string_to_id`).
    struct LabelIDs {
        private(set) var labels: [String] = []
        private var ids: [String: String] = [:]

        mutating func id(for label: String) -> String {
            if let id = ids[label] { return id }
            let id = String(labels.count)
            labels.append(label)
            ids[label] = id
            return id
        }

        func label(of id: String) -> String? { Int(id).flatMap { $0 < labels.count ? labels[$0] : nil } }
    }

    /// `_get_md_classifications_for_detection`: raw ones first (numbered in their order), then the
    /// processed one, or the top raw one where there is none.
    static func classifications(of detection: JSONObject, numbering: inout LabelIDs, options: Options) throws -> (JSONValue?, JSONValue?) {
        var chosen: JSONValue?, raw: JSONValue?
        if let rawObject = detection["raw_classifications"]?.object {
            let classes = rawObject["classes"]?.array?.compactMap(\.string) ?? [], scores = rawObject["scores"]?.array ?? []
            guard classes.count == scores.count, !classes.isEmpty else { throw Failure(reason: "raw_classifications with \(classes.count) classes and \(scores.count) scores") }
            let numbers = scores.compactMap(\.number)
            guard zip(numbers, numbers.dropFirst()).allSatisfy({ $0 >= $1 }) else { throw Failure(reason: "unsorted raw classification scores") }
            let pairs = zip(classes, scores).map { JSONValue.array([.string(numbering.id(for: $0)), $1]) }
            raw = .array(pairs)
            chosen = .array([pairs[0]])
        }
        if let processed = detection["processed_classification"]?.object, var label = processed["class"]?.string, let score = processed["score"] {
            if options.convertHomoSpeciesToHuman, label.contains("hominidae;homo") || label.contains("homo species") { label = SpeciesNetTaxonomy.human }
            chosen = .array([.array([.string(numbering.id(for: label)), score])])
        }
        return (chosen, raw)
    }
}
