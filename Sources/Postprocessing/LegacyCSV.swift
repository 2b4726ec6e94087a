import Foundation
import ResultsFormat

/// The reference's `convert_json_to_csv`: one row per photo with `image_path`, `max_confidence`,
/// `detections` (a JSON list of `[ymin, xmin, ymax, xmax, conf, category]`), the optional fields
/// present in the file (sorted), `max_conf_<category>` per detection category and
/// `max_classification_conf_<species>` per classification category. Written as pandas
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
        // max_classification_conf_<name> per classification category; ids sharing a name share a column,
        // which holds the last such id's value (a dict keyed by column name in the reference).
        var speciesColumns: [String] = [], speciesColumnOfID: [String: String] = [:], lastIDOfColumn: [String: String] = [:]
        for (id, name) in results.classificationCategories ?? [] {
            let column = "max_classification_conf_" + name.replacingOccurrences(of: ",", with: "_").replacingOccurrences(of: " ", with: "_").lowercased()
            if !speciesColumns.contains(column) { speciesColumns.append(column) }
            speciesColumnOfID[id] = column
            lastIDOfColumn[column] = id
        }
        var header = ["image_path", "max_confidence"]
        if !omitBoxes { header.append("detections") }
        header += optional + categories.map(\.1) + speciesColumns
        var rows = [header]
        for image in results.images {
            var row = [image.file]
            let failed = image.failure != nil
            var detections: [String] = []
            var maxima: [String: Double] = [:], speciesMaxima: [String: Double] = [:]
            for detection in image.detections ?? [] {
                if let minimumConfidence, detection.conf < minimumConfidence { continue }
                for (id, score) in detection.classifications ?? [] { speciesMaxima[id] = max(speciesMaxima[id] ?? 0, score) }
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
            for column in speciesColumns { row.append(JSONWriter.pythonRepr(failed ? 0 : speciesMaxima[lastIDOfColumn[column]!] ?? 0)) }
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

extension LegacyCSV {
    public enum Failure: Error, CustomStringConvertible {
        case missingColumn(String)
        case badRow(line: Int, reason: String)
        public var description: String {
            switch self {
            case let .missingColumn(name): return "the CSV has no '\(name)' column"
            case let .badRow(line, reason): return "CSV line \(line): \(reason)"
            }
        }
    }

    /// Reads a CSV (RFC 4180 quoting) into rows of fields.
    public static func parse(_ text: String) -> [[String]] {
        var rows: [[String]] = [], row: [String] = [], field = ""
        var quoted = false, afterQuote = false
        var characters = text.makeIterator()
        while let character = characters.next() {
            if quoted {
                if character == "\"" { quoted = false; afterQuote = true } else { field.append(character) }
                continue
            }
            switch character {
            case "\"":
                if afterQuote { field.append("\"") }
                quoted = true
                afterQuote = false
            case ",":
                row.append(field); field = ""; afterQuote = false
            case "\n", "\r\n":
                row.append(field); field = ""; afterQuote = false
                rows.append(row); row = []
            case "\r":
                continue
            default:
                field.append(character); afterQuote = false
            }
        }
        if !field.isEmpty || !row.isEmpty { row.append(field); rows.append(row) }
        return rows
    }

    /// The legacy CSV back to a results file (format 1.6, MegaDetector categories, failures kept as
    /// failures). The reference's converter writes format 1.2 and cannot read failure rows.
    public static func results(fromCSV text: String) throws -> ResultsFile {
        let rows = parse(text)
        guard let header = rows.first else { throw Failure.missingColumn("image_path") }
        func column(_ name: String) throws -> Int {
            guard let index = header.firstIndex(of: name) else { throw Failure.missingColumn(name) }
            return index
        }
        let (fileColumn, maxColumn, detectionsColumn) = (try column("image_path"), try column("max_confidence"), try column("detections"))
        let optional = Dictionary(uniqueKeysWithValues: ["width", "height", "datetime"].compactMap { name in header.firstIndex(of: name).map { (name, $0) } })
        var images: [ImageResult] = []
        for (offset, row) in rows.dropFirst().enumerated() where row != [""] {  // blank lines carry nothing
            guard row.count == header.count else {
                throw Failure.badRow(line: offset + 2, reason: "\(row.count) fields, the header has \(header.count)")
            }
            var image = ImageResult(file: row[fileColumn])
            if row[maxColumn] == "failure" {
                image.failure = row[detectionsColumn]
            } else {
                guard let list = try? JSONParser.parse(Array(row[detectionsColumn].utf8)).array else {
                    throw Failure.badRow(line: offset + 2, reason: "the detections column is not a JSON list")
                }
                image.detections = try list.map { value in
                    guard let numbers = value.array?.compactMap(\.number), numbers.count == 6 else {
                        throw Failure.badRow(line: offset + 2, reason: "a detection is not [ymin, xmin, ymax, xmax, conf, category]")
                    }
                    guard (1...3).contains(numbers[5]), numbers[5] == numbers[5].rounded() else {
                        throw Failure.badRow(line: offset + 2, reason: "category \(numbers[5]) is not a MegaDetector category (1, 2, 3)")
                    }
                    return DetectionResult(category: String(Int(numbers[5])), conf: numbers[4],
                                           bbox: [numbers[1], numbers[0], numbers[3] - numbers[1], numbers[2] - numbers[0]])
                }
            }
            if let index = optional["width"], let value = Int(row[index]) { image.width = value }
            if let index = optional["height"], let value = Int(row[index]) { image.height = value }
            if let index = optional["datetime"] { image.datetime = .some(row[index].isEmpty ? nil : row[index]) }
            images.append(image)
        }
        return ResultsFile(images: images, info: JSONObject([("format_version", .string(ResultsFile.formatVersion)),
                                                              ("detector", .string("unknown")),
                                                              ("detection_completion_time", .string("unknown"))]))
    }
}
