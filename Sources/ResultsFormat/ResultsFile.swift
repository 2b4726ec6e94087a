import Foundation

/// A MegaDetector results file (format 1.6): images, detection categories, info.
public struct ResultsFile: Sendable {
    public static let formatVersion = "1.6"
    public static let megadetectorCategories: [(String, String)] = [("1", "animal"), ("2", "person"), ("3", "vehicle")]

    public var images: [ImageResult]
    public var detectionCategories: [(String, String)]
    public var info: JSONObject
    /// A species classifier's categories (id -> name) and their full descriptions (id -> taxonomy
    /// string), written after `info` as the reference's classifiers add them.
    public var classificationCategories: [(String, String)]?
    public var classificationCategoryDescriptions: [(String, String)]?

    public init(images: [ImageResult], detectionCategories: [(String, String)] = megadetectorCategories, info: JSONObject) {
        self.images = images
        self.detectionCategories = detectionCategories
        self.info = info
    }

    /// The `info` block the reference writes: completion time (local), format version, detector file
    /// name and its recommended thresholds.
    public static func info(detector: String, metadata: JSONObject, completed: Date = Date()) -> JSONObject {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return JSONObject([
            ("detection_completion_time", .string(formatter.string(from: completed))),
            ("format_version", .string(formatVersion)),
            ("detector", .string(detector)),
            ("detector_metadata", .object(metadata)),
        ])
    }

    /// Images sorted by file name (code-point order, as Python sorts str), detections by confidence,
    /// descending, keeping the order of equal confidences (Python's sort is stable).
    public func sortedForWriting() -> ResultsFile {
        var copy = self
        copy.images = images.sorted { Array($0.file.unicodeScalars.map(\.value)).lexicographicallyPrecedes($1.file.unicodeScalars.map(\.value)) }
        for index in copy.images.indices {
            guard let detections = copy.images[index].detections else { continue }
            copy.images[index].detections = detections.enumerated()
                .sorted { $0.element.conf != $1.element.conf ? $0.element.conf > $1.element.conf : $0.offset < $1.offset }
                .map(\.element)
        }
        return copy
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [
            ("images", .array(images.map(\.json))),
            ("detection_categories", .object(JSONObject(detectionCategories.map { ($0.0, .string($0.1)) }))),
            ("info", .object(info)),
        ]
        if let classificationCategories {
            fields.append(("classification_categories", .object(JSONObject(classificationCategories.map { ($0.0, .string($0.1)) }))))
        }
        if let classificationCategoryDescriptions {
            fields.append(("classification_category_descriptions",
                           .object(JSONObject(classificationCategoryDescriptions.map { ($0.0, .string($0.1)) }))))
        }
        return .object(JSONObject(fields))
    }

    /// The file's text exactly as the reference writer would produce it.
    public func serialized() -> String {
        JSONWriter.serialize(sortedForWriting().json)
    }

    /// Writes atomically: a temporary file in the same folder, then a rename, so a crash never leaves
    /// a half-written results file behind.
    public func write(to path: String) throws {
        try AtomicFile.write(Data(serialized().utf8), to: path)
    }

    /// Any JSON file whose top level is an object (class mappings, configuration).
    public static func readJSONObject(path: String) throws -> JSONObject {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsFormatError.unreadable(path: path, reason: "no such file")
        }
        guard let object = try JSONParser.parse([UInt8](data)).object else {
            throw ResultsFormatError.invalid(path: path, reason: "the top level is not an object")
        }
        return object
    }

    public static func read(path: String) throws -> ResultsFile {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsFormatError.unreadable(path: path, reason: "no such file")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch { throw ResultsFormatError.invalid(path: path, reason: "\(error)") }
        guard let object = value.object else { throw ResultsFormatError.invalid(path: path, reason: "the top level is not an object") }
        guard let images = object["images"]?.array else { throw ResultsFormatError.invalid(path: path, reason: "no 'images' list") }
        let categories = object["detection_categories"]?.object?.entries.map { ($0.key, $0.value.string ?? "") } ?? []
        var file = ResultsFile(images: try images.map(ImageResult.init(json:)), detectionCategories: categories,
                               info: object["info"]?.object ?? JSONObject())
        file.classificationCategories = object["classification_categories"]?.object?.entries.map { ($0.key, $0.value.string ?? "") }
        file.classificationCategoryDescriptions = object["classification_category_descriptions"]?.object?.entries.map { ($0.key, $0.value.string ?? "") }
        return file
    }
}

/// Crash-safe file replacement: write a sibling temporary file, flush it, rename over the target.
public enum AtomicFile {
    public static func write(_ data: Data, to path: String, beforeRename: (() -> Void)? = nil) throws {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let temporary = directory.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
        guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
            throw ResultsFormatError.unreadable(path: temporary.path, reason: "cannot create")
        }
        let handle = try FileHandle(forWritingTo: temporary)
        try handle.write(contentsOf: data)
        try handle.synchronize()
        try handle.close()
        beforeRename?()
        if rename(temporary.path, path) != 0 {
            try? FileManager.default.removeItem(at: temporary)
            throw ResultsFormatError.unreadable(path: path, reason: "cannot replace (errno \(errno))")
        }
        // The rename itself reaches the disk only with the directory: flush that too.
        let folder = open(directory.path, O_RDONLY)
        if folder >= 0 {
            fsync(folder)
            close(folder)
        }
    }

    /// Deletes temporary files a killed writer of `path` left behind (`.NAME.PID.tmp` whose process is gone).
    public static func removeLeftovers(of path: String) {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent()
        let prefix = ".\(url.lastPathComponent)."
        for name in (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? [] where name.hasPrefix(prefix) && name.hasSuffix(".tmp") {
            guard let pid = Int32(name.dropFirst(prefix.count).dropLast(".tmp".count)), pid != ProcessInfo.processInfo.processIdentifier,
                  kill(pid, 0) != 0, errno == ESRCH else { continue }
            try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }
    }
}
