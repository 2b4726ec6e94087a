import Foundation
import ResultsFormat

/// The reference's `subset_json_detector_output`: filters applied in its order (path query and
/// replacement, failed images, confidence, categories, file list, box size), then one output file or
/// one file per folder. Works on the parsed document so every other key and the order of images and
/// detections are kept, as the reference keeps them (it does not re-sort).
public struct ResultsSubset {
    public enum SplitMode: String, Sendable, CaseIterable {
        case bottom, nFromBottom = "n_from_bottom", nFromTop = "n_from_top"
    }

    public struct Options: Sendable {
        /// Keep files whose path contains this ("^prefix" means starts with).
        public var query: String?
        /// Replace the query in kept paths (prepend when there is no query).
        public var replacement: String?
        public var removeFailedImages = false
        public var confidenceThreshold: Double?
        /// Category ids or names to keep, each with a threshold (detections must be above it).
        public var categoriesToKeep: [String: Double]?
        public var categoryNamesToKeep: [String: Double]?
        /// Paths to keep (from a results file, a folder, or a list).
        public var keepFiles: Set<String>?
        public var minimumDetectionSize: Double?
        public var maximumDetectionSize: Double?
        public var splitFolders: SplitMode?
        public var splitFolderParameter = 0
        public var makeFolderRelative = false
        public var copyJSONsToFolders = false
        public var overwrite = false

        public init() {}
    }

    public enum Failure: Error, CustomStringConvertible {
        case exists(String)
        case unknownCategory(String)
        case cannotWalk(Int, String)
        case badList(String)
        public var description: String {
            switch self {
            case let .exists(path): return "output \(path) exists (use --overwrite)"
            case let .unknownCategory(name): return "category \(name) is not in the file's detection categories"
            case let .cannotWalk(levels, path): return "cannot walk \(levels) folders from the top in path \(path)"
            case let .badList(path): return "\(path) is neither a results file nor a folder"
            }
        }
    }

    /// Filters `document` (a validated results document) and returns the subset.
    public static func filter(_ document: JSONObject, _ options: Options) throws -> JSONObject {
        var data = document
        var images = data["images"]?.array?.compactMap(\.object) ?? []
        if options.query != nil || options.replacement != nil {
            var query = options.query
            var startsWith = false
            if let text = query, text.hasPrefix("^") { query = String(text.dropFirst()); startsWith = true }
            images = images.compactMap { image in
                var image = image
                var file = image["file"]?.string ?? ""
                if let query {
                    guard startsWith ? file.hasPrefix(query) : file.contains(query) else { return nil }
                }
                if let replacement = options.replacement {
                    file = query.map { file.replacingOccurrences(of: $0, with: replacement) } ?? replacement + file
                }
                image["file"] = .string(file)
                return image
            }
        }
        if options.removeFailedImages { images = images.filter { $0["failure"]?.string == nil } }
        if let threshold = options.confidenceThreshold {
            images = images.map { image in
                mapDetections(image) { $0.filter { (detectionConfidence($0)) >= threshold } }
            }
        }
        if var keep = options.categoriesToKeep ?? (options.categoryNamesToKeep != nil ? [:] : nil) {
            let idsByName = Dictionary((data["detection_categories"]?.object?.entries ?? []).compactMap { entry in
                entry.value.string.map { ($0, entry.key) }
            }, uniquingKeysWith: { first, _ in first })
            for (name, threshold) in options.categoryNamesToKeep ?? [:] {
                guard let id = idsByName[name] else { throw Failure.unknownCategory(name) }
                keep[id] = threshold
            }
            images = images.map { image in
                mapDetections(image) { detections in
                    detections.filter { detection in
                        guard let category = detection.object?["category"]?.string, let threshold = keep[category] else { return false }
                        return detectionConfidence(detection) > threshold
                    }
                }
            }
        }
        if let keepFiles = options.keepFiles {
            images = images.filter { keepFiles.contains(($0["file"]?.string ?? "").replacingOccurrences(of: "\\", with: "/")) }
        }
        if options.minimumDetectionSize != nil || options.maximumDetectionSize != nil {
            let minimum = options.minimumDetectionSize ?? -1000, maximum = options.maximumDetectionSize ?? 1000
            images = images.map { image in
                mapDetections(image) { detections in
                    detections.filter { detection in
                        let box = detection.object?["bbox"]?.array?.compactMap(\.number) ?? []
                        guard box.count == 4 else { return false }
                        let size = box[2] * box[3]
                        return size >= minimum && size <= maximum
                    }
                }
            }
        }
        data["images"] = .array(images.map { .object($0) })
        return data
    }

    /// Writes the subset: one file, or (with `splitFolders`) one file per folder into `output`.
    /// Returns the files written.
    @discardableResult
    public static func write(_ data: JSONObject, to output: String, _ options: Options) throws -> [String] {
        guard let mode = options.splitFolders else {
            try writeFile(data, output, overwrite: options.overwrite)
            return [output]
        }
        var groups: [(String, [JSONObject])] = []
        var index: [String: Int] = [:]
        for image in data["images"]?.array?.compactMap(\.object) ?? [] {
            let file = image["file"]?.string ?? ""
            let folder = try folderKey(file, mode: mode, parameter: options.splitFolderParameter)
            var entry = image
            if options.makeFolderRelative { entry["file"] = .string(relative(file, to: folder)) }
            if let position = index[folder] { groups[position].1.append(entry) } else {
                index[folder] = groups.count
                groups.append((folder, [entry]))
            }
        }
        try FileManager.default.createDirectory(atPath: output, withIntermediateDirectories: true)
        var written: [String] = []
        for (folder, images) in groups {
            let name = folder.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "\\", with: "_") + ".json"
            let path = options.copyJSONsToFolders
                ? ((output as NSString).appendingPathComponent(folder) as NSString).appendingPathComponent(name)
                : (output as NSString).appendingPathComponent(name)
            var part = data
            part["images"] = .array(images.map { .object($0) })
            try writeFile(part, path, overwrite: options.overwrite)
            written.append(path)
        }
        return written
    }

    static func writeFile(_ data: JSONObject, _ path: String, overwrite: Bool) throws {
        if !overwrite, FileManager.default.fileExists(atPath: path) { throw Failure.exists(path) }
        try AtomicFile.write(Data(JSONWriter.serialize(.object(data)).utf8), to: path)
    }

    /// The folder a file belongs to for splitting (Python os.path.dirname semantics).
    static func folderKey(_ file: String, mode: SplitMode, parameter: Int) throws -> String {
        switch mode {
        case .bottom: return dirname(file)
        case .nFromBottom:
            var folder = dirname(file)
            for _ in 0..<parameter { folder = dirname(folder) }
            return folder
        case .nFromTop:
            let parts = file.split(separator: "/", omittingEmptySubsequences: false)
            guard parameter + 1 <= parts.count else { throw Failure.cannotWalk(parameter, file) }
            return parts.prefix(parameter + 1).joined(separator: "/")
        }
    }

    static func dirname(_ path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        let head = String(path[..<slash])
        return head.isEmpty ? "/" : head
    }

    static func relative(_ file: String, to folder: String) -> String {
        guard !folder.isEmpty else { return file }
        return file.hasPrefix(folder + "/") ? String(file.dropFirst(folder.count + 1)) : file
    }

    private static func detectionConfidence(_ detection: JSONValue) -> Double {
        detection.object?["conf"]?.number ?? 0
    }

    /// Applies `transform` to an image's detections; failures (null detections) are left alone,
    /// and `max_detection_conf` (format 1.2 files) follows as the reference updates it.
    private static func mapDetections(_ image: JSONObject, _ transform: ([JSONValue]) -> [JSONValue]) -> JSONObject {
        guard let detections = image["detections"]?.array else { return image }
        var image = image
        let kept = transform(detections)
        image["detections"] = .array(kept)
        if image["max_detection_conf"] != nil {
            image["max_detection_conf"] = .double(kept.compactMap { $0.object?["conf"]?.number }.max() ?? 0)
        }
        return image
    }
}
