import Foundation
import ResultsFormat

/// The reference's `convert_json_to_csv`: one row per photo with `image_path`, `max_confidence`,
/// `detections` (a JSON list of `[ymin, xmin, ymax, xmax, conf, category]`), the optional fields
/// present in the file (sorted), and `max_conf_<category>` per detection category. Written as pandas
/// writes it (minimal quoting, Python float repr, floats in numeric columns).
public enum LegacyCSV {
    public static func rows(_ results: ResultsFile, minimumConfidence: Double? = nil, omitBoxes: Bool = false) -> [[String]] {
        let optional = ["datetime", "exif_metadata", "height", "width"].filter { field in
            results.images.contains { image in
                switch field {
                case "width": return image.width != nil
                case "height": return image.height != nil
                case "datetime": return image.datetime != nil
                default: return image.exifMetadata != nil
                }
            }
        }
        let categories = results.detectionCategories.map { ($0.0, "max_conf_" + $0.1.replacingOccurrences(of: ",", with: "_")
            .replacingOccurrences(of: " ", with: "_").lowercased()) }
        var header = ["image_path", "max_confidence"]
        if !omitBoxes { header.append("detections") }
        header += optional + categories.map(\.1)
        var rows = [header]
        for image in results.images {
            var row = [image.file]
            let failed = image.failure != nil
            var detections: [String] = []
            var maxima: [String: Double] = [:]
            for detection in image.detections ?? [] {
                if let minimumConfidence, detection.conf < minimumConfidence { continue }
                let box = detection.bbox
                let values = [box[1], box[0], box[1] + box[3], box[0] + box[2], detection.conf].map(JSONWriter.pythonRepr)
                detections.append("[" + (values + [String(Int(detection.category) ?? 0)]).joined(separator: ", ") + "]")
                maxima[detection.category] = max(maxima[detection.category] ?? 0, detection.conf)
            }
            let maxConfidence = (image.detections ?? []).map(\.conf).max() ?? 0
            row.append(failed ? "failure" : JSONWriter.pythonRepr(maxConfidence))
            if !omitBoxes { row.append(failed ? image.failure! : "[" + detections.joined(separator: ", ") + "]") }
            for field in optional {
                switch field {
                case "width": row.append(image.width.map(String.init) ?? "")
                case "height": row.append(image.height.map(String.init) ?? "")
                case "datetime": row.append((image.datetime ?? nil) ?? "")
                default: row.append(image.exifMetadata.map { pairs in
                    "{" + pairs.map { "'\($0.0)': '\($0.1)'" }.joined(separator: ", ") + "}" } ?? "")
                }
            }
            for (id, _) in categories { row.append(JSONWriter.pythonRepr(failed ? 0 : maxima[id] ?? 0)) }
            rows.append(row)
        }
        return rows
    }

    /// CSV text with minimal quoting (fields holding a comma, quote or newline are quoted).
    public static func text(_ rows: [[String]]) -> String {
        rows.map { row in
            row.map { field in
                field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" })
                    ? "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : field
            }.joined(separator: ",")
        }.joined(separator: "\n") + "\n"
    }
}
