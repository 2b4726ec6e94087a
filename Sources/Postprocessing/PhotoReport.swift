import Foundation
import ResultsFormat

/// The reference's `generate_csv_report`: a spreadsheet with one row per photo and detected class
/// (photos with several classes get several rows): file name, date and time, class (`empty`,
/// `error` for failures), highest confidence, classification, count, and optional folder-level
/// columns. Rows are written as pandas writes them (empty cells for missing values).
public enum PhotoReport {
    public struct Options: Sendable {
        /// Detections counted at or above this (default: the file's typical threshold).
        public var detectionThreshold: Double?
        public var classificationThreshold = 0.3
        /// Folder levels (0 = top) to give their own columns.
        public var folderLevels: [Int] = []
        /// File -> DateTimeOriginal, from a results file with `datetime` or the photos' EXIF.
        public var datetimes: [String: String]?
        public init() {}
    }

    public static func rows(_ document: JSONObject, options: Options) -> [[String]] {
        let detectionNames = ResultsInput.categoryNames(document)
        let classificationNames = ResultsInput.categoryNames(document, key: "classification_categories")
        let threshold = options.detectionThreshold
            ?? document["info"]?.object?["detector_metadata"]?.object?["typical_detection_threshold"]?.number ?? 0.2
        var header = ["filename", "datetime", "detection_category", "max_detection_confidence", "classification_category",
                      "max_classification_confidence", "count"]
        header += options.folderLevels.map { "folder_level_" + String(format: "%02d", $0) }
        var rows = [header]
        for value in document["images"]?.array ?? [] {
            guard let image = value.object, let rawFile = image["file"]?.string else { continue }
            let file = rawFile.replacingOccurrences(of: "\\", with: "/")
            let tokens = rawFile.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
            let folders = options.folderLevels.map { $0 < tokens.count ? tokens[$0] : "" }
            let datetime = options.datetimes?[rawFile] ?? ""
            func row(_ category: String, _ maximum: String, _ classification: String, _ classificationMaximum: String, _ count: String) -> [String] {
                [file, datetime, category, maximum, classification, classificationMaximum, count] + folders
            }
            if let failure = image["failure"]?.string, !failure.isEmpty {
                rows.append(row("error", "", failure, "", ""))
                continue
            }
            let detections = (image["detections"]?.array ?? []).compactMap(\.object)
            let above = detections.filter { ($0["conf"]?.number ?? 0) >= threshold }
            if above.isEmpty {
                let maximum = detections.compactMap { $0["conf"]?.number }.max() ?? 0
                rows.append(row("empty", JSONWriter.pythonRepr(maximum), "", "", ""))
                continue
            }
            var groups: [(key: String, detection: String, classification: String, maxDetection: Double, maxClassification: Double, count: Int)] = []
            for detection in above {
                let name = detectionNames[detection["category"]?.string ?? ""] ?? ""
                let conf = detection["conf"]?.number ?? 0
                var classification = "", classificationConf = 0.0
                if let first = detection["classifications"]?.array?.first?.array, first.count >= 2,
                   let score = first[1].number, score >= options.classificationThreshold {
                    classification = classificationNames[first[0].string ?? ""] ?? ""
                    classificationConf = score
                }
                let key = name + ":" + classification
                if let index = groups.firstIndex(where: { $0.key == key }) {
                    groups[index].count += 1
                    groups[index].maxDetection = max(groups[index].maxDetection, conf)
                    groups[index].maxClassification = max(groups[index].maxClassification, classificationConf)
                } else {
                    groups.append((key, name, classification, conf, classificationConf, 1))
                }
            }
            for group in groups {
                rows.append(row(group.detection, JSONWriter.pythonRepr(group.maxDetection), group.classification,
                                JSONWriter.pythonRepr(group.maxClassification), String(group.count)))
            }
        }
        return rows
    }

    /// DateTimeOriginal per file from a results file's `datetime` fields.
    public static func datetimes(fromResults document: JSONObject) -> [String: String] {
        var result: [String: String] = [:]
        for value in document["images"]?.array ?? [] {
            guard let image = value.object, let file = image["file"]?.string else { continue }
            result[file] = image["datetime"]?.string ?? ""
        }
        return result
    }
}
