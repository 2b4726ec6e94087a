import Foundation
import ResultsFormat

/// Conversions of a results file to other tools' formats, following the reference's converters.
public enum FormatConversion {
    /// The reference's `md_to_coco`: one COCO image per photo (failures skipped unless asked),
    /// one annotation per detection at or above `confidenceThreshold` with the box in pixels,
    /// categories from the file, floats rounded to `precision` places as Python's round() does.
    public static func coco(_ results: ResultsFile, inputPath: String, confidenceThreshold: Double?, includeFailedImages: Bool,
                            preserveNonstandardMetadata: Bool, precision: Int? = 3,
                            imageSize: (String) throws -> (width: Int, height: Int)) throws -> JSONObject {
        var images: [JSONValue] = [], annotations: [JSONValue] = []
        let categoryIds = Set(results.detectionCategories.map(\.0))
        for image in results.images {
            var entry = JSONObject([("id", .string(image.file)), ("file_name", .string(image.file))])
            if let failure = image.failure {
                if includeFailedImages {
                    entry["failure"] = .string(failure)
                    images.append(.object(entry))
                }
                continue
            }
            let size: (width: Int, height: Int)
            if let width = image.width, let height = image.height { size = (width, height) } else { size = try imageSize(image.file) }
            entry["width"] = .int(size.width)
            entry["height"] = .int(size.height)
            if preserveNonstandardMetadata {
                for (key, value) in image.json.object?.entries ?? [] where !["file", "detections", "width", "height"].contains(key) {
                    entry[key] = value
                }
            }
            images.append(.object(entry))
            for detection in image.detections ?? [] {
                if let confidenceThreshold, detection.conf < confidenceThreshold { continue }
                guard categoryIds.contains(detection.category), let categoryId = Int(detection.category) else {
                    throw ResultsFormatError.invalid(path: image.file, reason: "unrecognized category \(detection.category)")
                }
                var annotation = JSONObject([("id", .string(UUID().uuidString.lowercased())), ("image_id", .string(image.file)),
                                             ("category_id", .int(categoryId))])
                let box = detection.bbox
                annotation["bbox"] = .array([box[0] * Double(size.width), box[1] * Double(size.height),
                                             box[2] * Double(size.width), box[3] * Double(size.height)].map { .double($0) })
                if preserveNonstandardMetadata { annotation["score"] = .double(detection.conf) }
                annotations.append(.object(annotation))
            }
        }
        var info = JSONObject([("description", .string("Converted from MD results file \(inputPath)"))])
        info["confidence_threshold"] = confidenceThreshold.map { .double($0) } ?? .null
        var output = JSONObject([("info", .object(info)), ("images", .array(images)), ("annotations", .array(annotations))])
        output["categories"] = .array(results.detectionCategories.compactMap { id, name in
            Int(id).map { .object(JSONObject([("id", .int($0)), ("name", .string(name))])) }
        })
        guard let precision else { return output }
        return JSONValue.object(output).roundingFloats(places: precision).object!
    }

    /// Python's `round(x, places)` (`PythonRounding`).
    public static func round(_ value: Double, places: Int) -> Double {
        PythonRounding.round(value, places: places)
    }
}

extension FormatConversion {
    /// The reference's `generate_predictions_json_from_md_results` (md_to_wi): a Wildlife Insights /
    /// SpeciesNet `predictions.json` with one prediction per photo (`filepath`, detections with
    /// `label`, sorted by confidence; failed photos get `"failures": ["DETECTOR"]`).
    public static func wildlifeInsights(_ document: JSONObject, baseFolder: String?) -> JSONObject {
        let names = ResultsInput.categoryNames(document)
        var base = baseFolder?.replacingOccurrences(of: "\\", with: "/")
        if let folder = base, !folder.isEmpty, !folder.hasSuffix("/") { base = folder + "/" }
        var predictions: [JSONValue] = []
        for value in document["images"]?.array ?? [] {
            guard let image = value.object, var file = image["file"]?.string else { continue }
            if let base, !base.isEmpty { file = base + file }
            var prediction = JSONObject([("filepath", .string(file.replacingOccurrences(of: "\\", with: "/")))])
            if let failure = image["failure"], !failure.isNull {
                prediction["failures"] = .array([.string("DETECTOR")])
            } else {
                let detections = (image["detections"]?.array ?? []).compactMap(\.object).map { detection -> JSONObject in
                    var copy = detection
                    copy["label"] = .string(names[detection["category"]?.string ?? ""] ?? "")
                    return copy
                }
                let sorted = detections.enumerated().sorted { a, b in
                    let (x, y) = (a.element["conf"]?.number ?? 0, b.element["conf"]?.number ?? 0)
                    return x != y ? x > y : a.offset < b.offset
                }
                prediction["detections"] = .array(sorted.map { .object($0.element) })
            }
            predictions.append(.object(prediction))
        }
        return JSONObject([("predictions", .array(predictions))])
    }
}
