import Foundation
import Imaging
import ResultsFormat
import Diagnostics

/// Repeat-detection elimination, after the reference's `find_repeat_detections` /
/// `remove_repeat_detections`: a rock or branch that the detector flags in hundreds of photos of the
/// same camera gives nearly identical boxes. Within each folder, boxes of the same category with
/// IoU >= `iouThreshold` are grouped (a box joins every earlier group it matches; otherwise it starts
/// one); groups seen `occurrenceThreshold` times or more are suspicious. `find` writes one rendered
/// photo per suspicious group into a review folder; the user deletes the photos of groups that are
/// real animals; `remove` gives every remaining group's detections a negative confidence.
public enum RepeatDetectionElimination {
    public struct Options: Sendable {
        public var iouThreshold = 0.9
        public var occurrenceThreshold = 20
        public var confidenceMin = 0.1
        public var confidenceMax = 1.0
        public var minSuspiciousDetectionSize = 0.0
        public var maxSuspiciousDetectionSize = 0.2
        public var excludeClasses: Set<String> = []
        public var categoryAgnostic = false
        /// Group photos this many folder levels above their own folder (0: the photo's folder).
        public var directoryLevelsFromLeaf = 0
        /// Folders with more photos than this are left out (the reference's maxImagesPerFolder).
        public var maxImagesPerFolder: Int?
        /// Only these folders (includeFolders) or all but these (excludeFolders); not both.
        public var includeFolders: Set<String>?
        public var excludeFolders: Set<String>?
        public var maxOutputImageWidth = 2000
        public var lineThickness = 10
        public var boxExpansion = 2
        public init() {}
    }

    /// One detection of one photo: its file, its index in that photo's list, box and confidence.
    public struct Instance: Sendable {
        public var file: String
        public var detectionIndex: Int
        public var bbox: [Double]
        public var conf: Double
    }

    /// A group of near-identical boxes in one folder.
    public struct Group: Sendable {
        public var directory: String
        public var category: String
        public var bbox: [Double]
        public var instances: [Instance]
        public var sampleFileName = ""
        /// Whether the review photo was written (false when none of the group's photos could be read).
        public var rendered = false
    }

    /// All groups with at least `occurrenceThreshold` members, folder by folder (folders sorted,
    /// groups by box position left to right).
    public static func find(_ results: ResultsFile, options: Options) -> [Group] {
        var folders: [String: [ImageResult]] = [:]
        for image in results.images {
            var directory = parent(image.file)
            for _ in 0..<options.directoryLevelsFromLeaf { directory = parent(directory) }
            folders[directory, default: []].append(image)
        }
        var suspicious: [Group] = []
        for directory in folders.keys.sorted() {
            if let limit = options.maxImagesPerFolder, folders[directory]!.count > limit { continue }
            if let included = options.includeFolders, !included.contains(directory) { continue }
            if let excluded = options.excludeFolders, excluded.contains(directory) { continue }
            var groups: [Group] = []
            for image in folders[directory]! {
                guard image.failure == nil, let detections = image.detections,
                      (detections.map(\.conf).max() ?? 0) >= options.confidenceMin else { continue }
                for (index, detection) in detections.enumerated() {
                    let box = detection.bbox
                    guard detection.conf >= options.confidenceMin, detection.conf <= options.confidenceMax,
                          !options.excludeClasses.contains(detection.category), box[2] != 0, box[3] != 0 else { continue }
                    let area = abs(box[2] * box[3])
                    guard area >= options.minSuspiciousDetectionSize, area <= options.maxSuspiciousDetectionSize else { continue }
                    let instance = Instance(file: image.file, detectionIndex: index, bbox: box, conf: detection.conf)
                    var matched = false
                    for position in groups.indices where options.categoryAgnostic || groups[position].category == detection.category {
                        if ResultsComparer.iou(box, groups[position].bbox) >= options.iouThreshold {
                            groups[position].instances.append(instance)
                            matched = true
                        }
                    }
                    if !matched {
                        groups.append(Group(directory: directory, category: detection.category, bbox: box, instances: [instance]))
                    }
                }
            }
            suspicious += groups.filter { $0.instances.count >= options.occurrenceThreshold }.sorted { $0.bbox[0] < $1.bbox[0] }
        }
        return suspicious
    }

    /// Writes the review folder: one photo per group (its most confident instance, the group's box
    /// drawn) named `dir<folder>_det<group>_n<count>.jpg`, and `detectionIndex.json` listing them.
    public static func writeReviewFolder(_ groups: [Group], results: ResultsFile, imageFolder: String, folder: String,
                                         options: Options, log: (String) -> Void = { _ in }) throws -> [Group] {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let directories = Array(Set(groups.map(\.directory))).sorted()
        var counters: [String: Int] = [:]
        var named: [Group] = []
        for var group in groups {
            group.instances.sort { $0.conf > $1.conf }
            let directoryIndex = directories.firstIndex(of: group.directory) ?? 0
            let groupIndex = counters[group.directory, default: 0]
            counters[group.directory] = groupIndex + 1
            group.sampleFileName = String(format: "dir%04d_det%04d_n%04d.jpg", directoryIndex, groupIndex, group.instances.count)
            // The most confident instance whose photo can be read shows the group.
            for sample in group.instances where !group.rendered {
                do {
                    var image = try ImageDecoder.decode(path: (imageFolder as NSString).appendingPathComponent(sample.file)).image
                    if image.width > options.maxOutputImageWidth {
                        let height = max(1, image.height * options.maxOutputImageWidth / image.width)
                        image = LinearResize.resize(image, width: options.maxOutputImageWidth, height: height)
                    }
                    let renderer = DetectionRenderer(threshold: 0, boxThickness: options.lineThickness, boxExpansion: options.boxExpansion,
                                                     categories: Dictionary(results.detectionCategories, uniquingKeysWith: { a, _ in a }))
                    renderer.render([DetectionResult(category: group.category, conf: sample.conf, bbox: group.bbox)], on: &image)
                    try image.jpegData().write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(group.sampleFileName)))
                    group.rendered = true
                } catch {
                    log("Warning: cannot render \(sample.file) for review: \(ErrorMessage.sentence(for: error))")
                }
            }
            named.append(group)
        }
        let index = JSONObject([
            ("format", .string("megadetector-swift repeat detections 1")),
            ("suspicious_detections", .array(named.map { group in
                .object(JSONObject([
                    ("sample_file", .string(group.sampleFileName)), ("rendered", .bool(group.rendered)), ("directory", .string(group.directory)),
                    ("category", .string(group.category)), ("bbox", .array(group.bbox.map { .double($0) })),
                    ("instances", .array(group.instances.map { instance in
                        .object(JSONObject([("file", .string(instance.file)), ("detection_index", .int(instance.detectionIndex)),
                                            ("conf", .double(instance.conf))]))
                    })),
                ]))
            })),
        ])
        try AtomicFile.write(Data(JSONWriter.serialize(.object(index)).utf8), to: (folder as NSString).appendingPathComponent("detectionIndex.json"))
        return named
    }

    public enum Failure: Error, CustomStringConvertible {
        case noIndex(String)
        case mismatch(String)
        public var description: String {
            switch self {
            case let .noIndex(folder): return "\(folder) holds no detectionIndex.json (give the folder `rde find` wrote)"
            case let .mismatch(reason): return "the review folder does not belong to this results file: \(reason)"
            }
        }
    }

    /// Negates the confidence of every instance of the groups whose review photo is still in
    /// `reviewFolder`. Returns the modified document and how many detections were changed.
    public static func remove(document: JSONObject, reviewFolder: String) throws -> (JSONObject, changed: Int, groupsKept: Int) {
        let indexPath = (reviewFolder as NSString).appendingPathComponent("detectionIndex.json")
        guard let data = FileManager.default.contents(atPath: indexPath),
              let groups = try JSONParser.parse([UInt8](data)).object?["suspicious_detections"]?.array else {
            throw Failure.noIndex(reviewFolder)
        }
        var output = document
        var images = output["images"]?.array?.compactMap(\.object) ?? []
        let position = Dictionary(images.enumerated().compactMap { index, image in image["file"]?.string.map { ($0, index) } },
                                  uniquingKeysWith: { first, _ in first })
        var changed = 0, kept = 0
        for groupValue in groups {
            // A group whose photo is gone was deleted by the reviewer (a real animal); one that was never
            // rendered was never reviewed: both keep their detections.
            guard let group = groupValue.object, let sample = group["sample_file"]?.string, group["rendered"] != .bool(false),
                  FileManager.default.fileExists(atPath: (reviewFolder as NSString).appendingPathComponent(sample)) else { continue }
            kept += 1
            for instanceValue in group["instances"]?.array ?? [] {
                guard let instance = instanceValue.object, let file = instance["file"]?.string,
                      case let .int(detectionIndex)? = instance["detection_index"], let row = position[file],
                      var detections = images[row]["detections"]?.array, detectionIndex < detections.count,
                      var detection = detections[detectionIndex].object, let conf = detection["conf"]?.number else {
                    throw Failure.mismatch("an instance in \(sample) is not in the results")
                }
                guard conf >= 0 else { continue }
                detection["conf"] = .double(-conf)
                detections[detectionIndex] = .object(detection)
                images[row]["detections"] = .array(detections)
                changed += 1
            }
        }
        output["images"] = .array(images.map { .object($0) })
        return (output, changed, kept)
    }

    static func parent(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }
}
