import Foundation
import Imaging
import ResultsFormat
import Diagnostics

/// The reference's `create_crop_folder`: every detection at or above a threshold saved as its own
/// JPEG (`<photo>.crop_<index>.jpg`, the detection's index in its photo, three digits), in a folder
/// tree mirroring the photos; optionally a results file whose detections carry `crop_id` and
/// `crop_filename_relative`, linking crops to photos.
public enum CropFolder {
    public struct Options: Sendable {
        public var confidenceThreshold = 0.1
        public var expansion = 0
        public var quality = 95
        public var overwrite = true
        public var categoryNames: Set<String>?
        public init() {}
    }

    public struct Report: Sendable {
        public var crops: [String] = []
        public var failures: [String] = []
    }

    /// Crops the photos and returns the results document with crop ids attached.
    public static func run(document: JSONObject, imageFolder: String, outputFolder: String, options: Options,
                           log: (String) -> Void = { _ in }) throws -> (JSONObject, Report) {
        var report = Report()
        var output = document
        let names = ResultsInput.categoryNames(document)
        var images = document["images"]?.array?.compactMap(\.object) ?? []
        for position in images.indices {
            guard let file = images[position]["file"]?.string, var detections = images[position]["detections"]?.array, !detections.isEmpty else { continue }
            var wanted: [(index: Int, bbox: [Double], name: String)] = []
            for (index, value) in detections.enumerated() {
                guard var detection = value.object, let conf = detection["conf"]?.number, conf >= options.confidenceThreshold,
                      let category = detection["category"]?.string else { continue }
                if let allowed = options.categoryNames, !allowed.contains(names[category] ?? "") { continue }
                let cropId = detection["crop_id"]?.number.map { Int($0) } ?? index
                if detection["crop_id"] == nil { detection["crop_id"] = .int(index) }
                let name = cropName(file, id: cropId)
                detection["crop_filename_relative"] = .string(name)
                detections[index] = .object(detection)
                wanted.append((index, detection["bbox"]?.array?.compactMap(\.number) ?? [], name))
            }
            images[position]["detections"] = .array(detections)
            guard !wanted.isEmpty else { continue }
            do {
                let image = try ImageDecoder.decode(path: (imageFolder as NSString).appendingPathComponent(file)).image
                for crop in wanted where crop.bbox.count == 4 {
                    let path = (outputFolder as NSString).appendingPathComponent(crop.name)
                    if !options.overwrite, FileManager.default.fileExists(atPath: path) { continue }
                    let region = cropRectangle(crop.bbox, width: image.width, height: image.height, expansion: options.expansion)
                    let piece = image.cropped(x0: region.x0, y0: region.y0, x1: region.x1, y1: region.y1)
                    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try piece.jpegData(quality: options.quality).write(to: URL(fileURLWithPath: path))
                    report.crops.append(crop.name)
                }
            } catch {
                log("Warning: cannot crop \(file): \(ErrorMessage.sentence(for: error))")
                report.failures.append(file)
            }
        }
        output["images"] = .array(images.map { .object($0) })
        return (output, report)
    }

    /// `photo.jpg` -> `photo.crop_007.jpg` (relative paths kept), as the reference's
    /// insert_before_extension names them.
    public static func cropName(_ file: String, id: Int) -> String {
        let suffix = ".crop_" + String(format: "%03d", id)
        let name = file as NSString
        return name.pathExtension.isEmpty ? file + suffix : name.deletingPathExtension + suffix + "." + name.pathExtension
    }

    /// The reference's crop box: pixels, expanded, clipped to [0, size - 1], then rounded as PIL's
    /// crop() rounds (half to even).
    public static func cropRectangle(_ bbox: [Double], width: Int, height: Int, expansion: Int) -> (x0: Int, y0: Int, x1: Int, y1: Int) {
        let e = Double(max(expansion, 0))
        func clip(_ value: Double, _ size: Int) -> Int {
            Int(min(max(value, 0), Double(size - 1)).rounded(.toNearestOrEven))
        }
        return (clip(bbox[0] * Double(width) - e, width), clip(bbox[1] * Double(height) - e, height),
                clip((bbox[0] + bbox[2]) * Double(width) + e, width), clip((bbox[1] + bbox[3]) * Double(height) + e, height))
    }
}
