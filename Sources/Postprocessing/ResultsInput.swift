import Foundation
import ResultsFormat
import Diagnostics

/// Loading a results file for a post-processing command: validated first (our validator, the
/// reference's rules), so malformed input is refused with the problem and its position. Entries that
/// keep their detections next to a failure (run_md_and_speciesnet's crops it could not classify) are
/// read as the reference's tools read them: by their detections.
public enum ResultsInput {
    public static func load(_ path: String) throws -> ResultsFile {
        _ = try loadDocument(path)
        return try ResultsFile.read(path: path)
    }

    /// The validated document itself, with every key and its order as in the file.
    public static func loadDocument(_ path: String) throws -> JSONObject {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsFormatError.unreadable(path: path, reason: "no such file")
        }
        let document: JSONValue
        do { document = try JSONParser.parse([UInt8](data)) } catch { throw ResultsFormatError.invalid(path: path, reason: ErrorMessage.sentence(for: error)) }
        let report = ResultsValidator.validate(document, keptDetectionsOnFailure: true)
        guard report.isValid, let object = document.object else {
            throw ResultsFormatError.invalid(path: path, reason: report.errors.first ?? "not an object")
        }
        return object
    }

    /// `typical_detection_threshold` from the file's detector metadata; the reference's defaults
    /// otherwise (MDv5's 0.2).
    public static func typicalThreshold(_ results: ResultsFile) -> Double {
        results.info["detector_metadata"]?.object?["typical_detection_threshold"]?.number ?? 0.2
    }

    /// Category id -> name from a document's `detection_categories` (or another category map).
    public static func categoryNames(_ document: JSONObject, key: String = "detection_categories") -> [String: String] {
        Dictionary((document[key]?.object?.entries ?? []).compactMap { entry in entry.value.string.map { (entry.key, $0) } },
                   uniquingKeysWith: { first, _ in first })
    }
}
