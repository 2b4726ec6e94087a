import Foundation
import ResultsFormat

/// The reference's `md_to_labelme`: a LabelMe `.json` next to each photo (same name), with a
/// rectangle shape per detection at or above the threshold (corners in pixels, rounded to 3 places)
/// and the full detection list and the results' `info` kept alongside.
public enum LabelMeExport {
    public struct Written: Sendable {
        public var written: [String] = []
        public var skippedExisting: [String] = []
        public var failures: [String] = []
    }

    public static func write(_ results: ResultsFile, document: JSONObject, imageFolder: String, confidenceThreshold: Double = 0.15,
                             overwrite: Bool = false, size: (String) throws -> (width: Int, height: Int)) throws -> Written {
        var report = Written()
        let names = Dictionary(results.detectionCategories, uniquingKeysWith: { first, _ in first })
        let info = document["info"] ?? .object(JSONObject())
        for image in results.images {
            guard image.failure == nil, let detections = image.detections else {
                report.failures.append(image.file)
                continue
            }
            let photo = (imageFolder as NSString).appendingPathComponent(image.file)
            let path = (photo as NSString).deletingPathExtension + ".json"
            if !overwrite, FileManager.default.fileExists(atPath: path) {
                report.skippedExisting.append(path)
                continue
            }
            let (width, height): (Int, Int)
            if let w = image.width, let h = image.height { (width, height) = (w, h) } else {
                do { (width, height) = try size(photo) } catch {
                    report.failures.append(image.file)
                    continue
                }
            }
            var shapes: [JSONValue] = []
            for detection in detections where detection.conf >= confidenceThreshold {
                let box = detection.bbox
                let x0 = FormatConversion.round(box[0] * Double(width), places: 3)
                let y0 = FormatConversion.round(box[1] * Double(height), places: 3)
                let x1 = FormatConversion.round(x0 + box[2] * Double(width), places: 3)
                let y1 = FormatConversion.round(y0 + box[3] * Double(height), places: 3)
                shapes.append(.object(JSONObject([
                    ("conf", .double(detection.conf)), ("label", .string(names[detection.category] ?? detection.category)),
                    ("shape_type", .string("rectangle")), ("description", .string("")), ("group_id", .null),
                    ("points", .array([.array([.double(x0), .double(y0)]), .array([.double(x1), .double(y1)])])),
                ])))
            }
            let output = JSONObject([
                ("detector_info", info), ("version", .string("5.3.0a0")), ("flags", .object(JSONObject())), ("shapes", .array(shapes)),
                ("imagePath", .string((photo as NSString).lastPathComponent)), ("imageHeight", .int(height)), ("imageWidth", .int(width)),
                ("imageData", .null), ("detections", .array(detections.map(\.json))),
            ])
            try AtomicFile.write(Data(JSONWriter.serialize(.object(output)).utf8), to: path)
            report.written.append(path)
        }
        return report
    }
}
