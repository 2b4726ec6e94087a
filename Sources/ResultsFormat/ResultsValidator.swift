import Foundation

/// The reference validator's rules (`validate_batch_results`), applied to a parsed document so that
/// type distinctions the rules depend on (a float `conf`, a string `format_version`) are visible.
/// Validation stops at the first error, as the reference does; warnings accumulate.
public struct ResultsValidator {
    public struct Report: Sendable {
        public var errors: [String] = []
        public var warnings: [String] = []
        public var imageCount = 0
        public var detectionCounts: [String: Int] = [:]
        public var isValid: Bool { errors.isEmpty }
    }

    static let videoExtensions: Set<String> = ["mp4", "avi", "mpeg", "mpg", "mov", "mkv", "flv"]

    /// `keptDetectionsOnFailure`: accept an image with both a failure and detections, as
    /// run_md_and_speciesnet writes one whose crops could not all be classified (the reference's
    /// validator refuses it; its post-processing tools, which do not validate, read it).
    public static func validate(_ document: JSONValue, keptDetectionsOnFailure: Bool = false) -> Report {
        var report = Report()
        do {
            try check(document, keptDetectionsOnFailure: keptDetectionsOnFailure, &report)
        } catch let failure as Failure {
            report.errors.append(failure.message)
        } catch {
            report.errors.append("\(error)")
        }
        return report
    }

    struct Failure: Error { let message: String }

    private static func check(_ document: JSONValue, keptDetectionsOnFailure: Bool = false, _ report: inout Report) throws {
        func fail(_ message: String) -> Failure { Failure(message: message) }
        guard let root = document.object else { throw fail("Input data is not a dict") }
        guard let infoValue = root["info"] else { throw fail("Input does not contain info field") }
        guard let info = infoValue.object else { throw fail("Input contains invalid info field") }
        guard let versionValue = info["format_version"] else { throw fail("Input does not specify format version") }
        let version: Double
        switch versionValue {
        case let .string(text):
            guard let parsed = Double(text.trimmingCharacters(in: .whitespaces)) else { throw fail("format_version \(text) is not a number") }
            version = parsed
        case let .int(number): version = Double(number)
        case let .double(number): version = number
        default: throw fail("format_version is not a number")
        }
        guard version >= 1.3 else { throw fail("This validator can only be used with format version 1.3 or later") }
        if version >= 1.6, versionValue.string == nil { throw fail("format_version is not a string") }
        guard let categories = root["detection_categories"]?.object else {
            throw fail("Input does not contain detection_categories field")
        }
        try checkCategories(categories, kind: "detection", version: version)
        var classificationKeys = Set<String>()
        if let classification = root["classification_categories"] {
            guard let object = classification.object else { throw fail("Invalid classification_categories field") }
            try checkCategories(object, kind: "classification", version: version)
            classificationKeys = Set(object.keys)
        }
        guard let imagesValue = root["images"] else { throw fail("images field not present") }
        guard let images = imagesValue.array else { throw fail("Invalid images field") }
        let categoryKeys = Set(categories.keys)
        for (index, value) in images.enumerated() {
            guard let image = value.object else { throw fail("Invalid image at index \(index)") }
            guard let fileValue = image["file"] else { throw fail("Image without filename at index \(index)") }
            let file = fileValue.string ?? "\(fileValue)"
            if let detections = image["detections"], !detections.isNull {
                guard let list = detections.array else { throw fail("Invalid detections list for image \(file)") }
                for detectionValue in list {
                    guard let detection = detectionValue.object else { throw fail("Image \(file) has an invalid detection") }
                    guard let category = detection["category"] else { throw fail("Image \(file) has a detection with no category") }
                    guard let conf = detection["conf"] else { throw fail("Image \(file) has a detection with no confidence") }
                    guard case .double = conf else { throw fail("Image \(file) has an illegal confidence value") }
                    guard let bbox = detection["bbox"] else { throw fail("Image \(file) has a detection with no box") }
                    guard let key = category.string, categoryKeys.contains(key) else {
                        throw fail("Image \(file) has a detection with an unmapped category \(category.string ?? "\(category)")")
                    }
                    // Beyond the reference's rules: every tool here reads four numbers.
                    guard let box = bbox.array, box.count == 4, box.allSatisfy({ $0.number != nil }) else {
                        throw fail("Image \(file) has a detection whose box is not 4 numbers")
                    }
                    report.detectionCounts[key, default: 0] += 1
                    if let classifications = detection["classifications"]?.array {
                        for pair in classifications {
                            guard let items = pair.array, items.count >= 2, let id = items[0].string, Int(id) != nil else {
                                throw fail("Image \(file) has an illegal classification category")
                            }
                            guard classificationKeys.contains(id) else {
                                throw fail("Classification category \(id) appears in an image, but not in the category list")
                            }
                            guard items[1].number != nil else { throw fail("Image \(file) has an illegal classification confidence") }
                        }
                    }
                }
            }
            if let failure = image["failure"] {
                if !failure.isNull {
                    guard failure.string != nil else { throw fail("Image \(file) has an illegal [failure] value: \(failure)") }
                    if image["detections"] == nil {
                        report.warnings.append("Image \(file) has a failure value, should also have a null detections array")
                    } else if image["detections"] != .null, !(keptDetectionsOnFailure && image["detections"]?.array != nil) {
                        throw fail("Image \(file) has a failure value but a non-null detections array")
                    }
                }
            } else if image["detections"]?.array == nil {
                throw fail("Invalid detections list for image \(file)")
            }
            let isVideo = videoExtensions.contains(String(file.split(separator: ".").last ?? "").lowercased())
            if isVideo, version >= 1.5, image["frames_processed"] == nil { throw fail("Video without frames_processed field: \(file)") }
            if isVideo, version >= 1.4 {
                guard let rate = image["frame_rate"]?.number else { throw fail("Video without frame rate: \(file)") }
                if rate < 0, image["failure"] == nil { throw fail("Video with illegal frame rate \(rate): \(file)") }
                for detection in image["detections"]?.array ?? [] where detection.object?["frame_number"] == nil {
                    throw fail("Frame without frame number in video \(file)")
                }
            }
            report.imageCount += 1
        }
        let known: Set<String> = ["images", "detection_categories", "classification_categories", "info",
                                  "classification_category_descriptions"]
        for key in root.keys where !known.contains(key) { report.warnings.append("Unrecognized top-level key: \(key)") }
    }

    private static func checkCategories(_ categories: JSONObject, kind: String, version: Double) throws {
        for entry in categories.entries {
            guard Int(entry.key) != nil else { throw Failure(message: "Invalid \(kind) category ID: \(entry.key)") }
            guard let name = entry.value.string else { throw Failure(message: "Invalid \(kind) category name: \(entry.value)") }
            if version >= 1.6, name.trimmingCharacters(in: .whitespaces).isEmpty {
                throw Failure(message: "\(kind.prefix(1).uppercased() + kind.dropFirst()) category name is blank for ID \(entry.key)")
            }
        }
    }
}
