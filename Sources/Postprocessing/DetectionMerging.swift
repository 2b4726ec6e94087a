import Foundation
import ResultsFormat

/// The reference's `merge_detections`: adds detections from other runs (ensembles) to a target run,
/// per image and category, when they do not overlap a confident target detection (IoU below
/// `iouThreshold`), or only into images the target found empty (`mergeEmptyOnly`). The transferred
/// detections carry `transferred_from`; `info.detector` and `info.detections_transferred_from` say
/// what was merged.
public enum DetectionMerging {
    public struct Options: Sendable {
        public var sourceConfidenceThresholds: [Double] = [0.05]
        public var targetConfidenceThreshold = 0.2
        public var minimumDetectionSize = 0.0
        public var maximumDetectionSize = 1.01
        public var categoriesToInclude: Set<Int>?
        public var categoriesToExclude: Set<Int>?
        public var mergeEmptyOnly = false
        public var iouThreshold = 0.65
        public var markCopiedDetections = false
        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case thresholdCount(sources: Int, thresholds: Int)
        case incompatibleCategories(String)
        case unknownImage(String, source: String)
        public var description: String {
            switch self {
            case let .thresholdCount(sources, thresholds): return "\(sources) source files but \(thresholds) source confidence thresholds"
            case let .incompatibleCategories(file): return "\(file) has detection categories that differ from the target's"
            case let .unknownImage(file, source): return "image \(file) of \(source) is not in the target results"
            }
        }
    }

    /// `sources` are (path, validated document); returns the merged target document.
    public static func merge(target: JSONObject, sources: [(String, JSONObject)], options: Options) throws -> JSONObject {
        var thresholds = options.sourceConfidenceThresholds
        if thresholds.count == 1, sources.count > 1 { thresholds = Array(repeating: thresholds[0], count: sources.count) }
        guard thresholds.count == sources.count else { throw Failure.thresholdCount(sources: sources.count, thresholds: thresholds.count) }
        var output = target
        var images = output["images"]?.array?.compactMap(\.object) ?? []
        let index = Dictionary(images.enumerated().compactMap { position, image in image["file"]?.string.map { ($0, position) } },
                               uniquingKeysWith: { first, _ in first })
        var info = output["info"]?.object ?? JSONObject()
        var transferredFrom = info["detections_transferred_from"]?.array ?? []
        var detector = info["detector"]?.string ?? "MDv4 (assumed)"
        let targetCategories = output["detection_categories"]?.object ?? JSONObject()
        let categories = targetCategories.keys.filter { key in
            guard let id = Int(key) else { return false }
            if let exclude = options.categoriesToExclude { return !exclude.contains(id) }
            if let include = options.categoriesToInclude { return include.contains(id) }
            return true
        }
        for ((path, source), threshold) in zip(sources, thresholds) {
            let sourceName = source["info"]?.object?["detector"]?.string ?? URL(fileURLWithPath: path).lastPathComponent
            transferredFrom.append(.string(URL(fileURLWithPath: path).lastPathComponent))
            detector += " + " + sourceName
            for entry in source["detection_categories"]?.object?.entries ?? [] where targetCategories[entry.key] != entry.value {
                throw Failure.incompatibleCategories(path)
            }
            for value in source["images"]?.array ?? [] {
                guard let sourceImage = value.object, let file = sourceImage["file"]?.string else { continue }
                guard let position = index[file] else { throw Failure.unknownImage(file, source: path) }
                guard let sourceDetections = sourceImage["detections"]?.array,
                      var targetDetections = images[position]["detections"]?.array else { continue }
                var transfer: [JSONValue] = []
                for category in categories {
                    let targetOfCategory = targetDetections.compactMap(\.object).filter { $0["category"]?.string == category }
                    let maximum = targetOfCategory.compactMap { $0["conf"]?.number }.max() ?? 0
                    if options.mergeEmptyOnly && maximum >= options.targetConfidenceThreshold { continue }
                    for detectionValue in sourceDetections {
                        guard var detection = detectionValue.object, detection["category"]?.string == category,
                              let box = detection["bbox"]?.array?.compactMap(\.number), box.count == 4,
                              let conf = detection["conf"]?.number else { continue }
                        let size = box[2] * box[3]
                        guard size <= options.maximumDetectionSize, size >= options.minimumDetectionSize, conf >= threshold else { continue }
                        if !options.mergeEmptyOnly {
                            let overlaps = targetOfCategory.contains { existing in
                                guard (existing["conf"]?.number ?? 0) >= options.targetConfidenceThreshold,
                                      let other = existing["bbox"]?.array?.compactMap(\.number), other.count == 4 else { return false }
                                return ResultsComparer.iou(box, other) >= options.iouThreshold
                            }
                            if overlaps { continue }
                        }
                        detection["transferred_from"] = .string(sourceName)
                        if options.markCopiedDetections { detection["merged"] = .bool(true) }
                        transfer.append(.object(detection))
                    }
                }
                guard !transfer.isEmpty else { continue }
                targetDetections += transfer
                images[position]["detections"] = .array(targetDetections)
                if images[position]["max_detection_conf"] != nil {
                    images[position]["max_detection_conf"] = .double(targetDetections.compactMap { $0.object?["conf"]?.number }.max() ?? 0)
                }
            }
        }
        info["detections_transferred_from"] = .array(transferredFrom)
        info["detector"] = .string(detector)
        output["info"] = .object(info)
        output["images"] = .array(images.map { .object($0) })
        return output
    }
}
