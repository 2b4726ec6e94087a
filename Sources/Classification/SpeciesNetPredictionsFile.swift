import Foundation
import ResultsFormat

/// speciesnet's own output, `predictions.json` (`utils.make_predictions_dict` + `save_predictions`):
/// `{"info": {"format_version": "20261015"}, "predictions": [...]}`, every float rounded to 4 decimals
/// (Python's `round`), one space of indent, text written as it is (`ensure_ascii=False`), saved
/// through a temporary file and a rename.
public enum SpeciesNetPredictionsFile {
    public static let formatVersion = "20261015"
    /// Fields of older speciesnet outputs; a file that has them cannot be resumed (speciesnet refuses too).
    static let legacyFields = ["classifications", "classifications_list", "prediction", "processed_classifications"]

    public struct Failure: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "cannot resume from \(path): \(reason)" }
    }

    public static func serialize(_ predictions: [JSONObject]) -> String {
        let document = JSONObject([("info", .object(JSONObject([("format_version", .string(formatVersion))]))),
                                   ("predictions", .array(predictions.map { .object($0) }))])
        // speciesnet's `limit_float_precision(obj, 4)`.
        return JSONWriter.serialize(JSONValue.object(document).roundingFloats(places: 4), indent: 1, asciiOnly: false)
    }

    public static func write(_ predictions: [JSONObject], to path: String) throws {
        try AtomicFile.write(Data(serialize(predictions).utf8), to: path)
    }

    /// `load_partial_predictions`: the entries of an earlier run's file that can be kept (those
    /// without failures), by file path. Every entry must name a file of this run.
    public static func partial(path: String, filepaths: Set<String>) throws -> [String: JSONObject] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        let document = try ResultsFile.readJSONObject(path: path)
        guard let predictions = document["predictions"]?.array else { throw Failure(path: path, reason: "no \"predictions\" list") }
        var kept: [String: JSONObject] = [:]
        for case let .object(prediction) in predictions {
            guard let filepath = prediction["filepath"]?.string else { throw Failure(path: path, reason: "an entry without \"filepath\"") }
            guard filepaths.contains(filepath) else {
                throw Failure(path: path, reason: "it has \(filepath), which is not among this run's photos (resume with the same input, or start again with --ignore-existing-predictions)")
            }
            if let legacy = legacyFields.first(where: { prediction[$0] != nil }) {
                throw Failure(path: path, reason: "it uses an older speciesnet format (field \(legacy) for \(filepath)); write elsewhere")
            }
            if prediction["failures"] == nil { kept[filepath] = prediction }
        }
        return kept
    }
}
