/// One detection in MegaDetector's format: category key, confidence, `[x_min, y_min, width, height]`
/// normalised to the image, and in a video's entry the number of the frame it was found in.
public struct DetectionResult: Equatable, Sendable {
    public var category: String
    public var conf: Double
    public var bbox: [Double]
    public var frameNumber: Int?
    /// A species classifier's verdicts: `[classification category id, score]` pairs, best first.
    public var classifications: [(category: String, score: Double)]?
    /// The classifier's own top scores before geofencing and roll-up (`--include-raw-classifications`).
    public var rawClassifications: [(category: String, score: Double)]?
    /// Fields of detections read from other files that we do not model, kept in order.
    public var extra: [(String, JSONValue)] = []

    public init(category: String, conf: Double, bbox: [Double], frameNumber: Int? = nil) {
        self.category = category
        self.conf = conf
        self.bbox = bbox
        self.frameNumber = frameNumber
    }

    public static func == (lhs: DetectionResult, rhs: DetectionResult) -> Bool {
        lhs.json == rhs.json
    }

    public var json: JSONValue {
        var fields: [(String, JSONValue)] = [("category", .string(category)), ("conf", .double(conf)), ("bbox", .array(bbox.map { .double($0) }))]
        if let frameNumber { fields.append(("frame_number", .int(frameNumber))) }
        func pairs(_ list: [(category: String, score: Double)]) -> JSONValue {
            .array(list.map { .array([.string($0.category), .double($0.score)]) })
        }
        if let classifications { fields.append(("classifications", pairs(classifications))) }
        if let rawClassifications { fields.append(("raw_classifications", pairs(rawClassifications))) }
        let known = Set(fields.map(\.0))
        fields += extra.filter { !known.contains($0.0) }
        return .object(JSONObject(fields))
    }

    /// `[[id, score], ...]` as classifiers write them.
    static func pairs(_ value: JSONValue?) -> [(category: String, score: Double)]? {
        value?.array?.compactMap { pair in
            guard let items = pair.array, items.count >= 2, let id = items[0].string, let score = items[1].number else { return nil }
            return (id, score)
        }
    }
}

/// One image's entry. Key order on output follows the reference writer: `file`, `detections`,
/// `width`, `height`, `datetime`, `exif_metadata` for successes; `file`, `failure`, `detections`
/// (null) for images that could not be read; inference failures after size/time were known keep the
/// reference's `file`, `detections`, `failure`, ... order. A video's entry (the reference's
/// `process_video`) carries `frame_rate` and `frames_processed` after `file`, and its detections carry
/// `frame_number`; a failed video has frame rate -1 and no frames.
public struct ImageResult: Equatable, Sendable {
    public var file: String
    public var detections: [DetectionResult]?
    public var failure: String?
    public var width: Int?
    public var height: Int?
    /// nil: not requested; .some(nil): requested, photo has none (written as null).
    public var datetime: String??
    public var exifMetadata: [(String, String)]?
    /// Videos only: the clip's frame rate (-1 for a clip that failed) and the frames the detector saw.
    public var frameRate: Double?
    public var framesProcessed: [Int]?
    /// Fields of images read from other files that we do not model, kept in order.
    public var extra: [(String, JSONValue)] = []

    public init(file: String, detections: [DetectionResult]? = nil, failure: String? = nil) {
        self.file = file
        self.detections = detections
        self.failure = failure
    }

    public static func == (lhs: ImageResult, rhs: ImageResult) -> Bool {
        lhs.json == rhs.json
    }

    public var json: JSONValue {
        var object = JSONObject()
        object["file"] = .string(file)
        if let frameRate { object["frame_rate"] = .double(frameRate) }
        if let framesProcessed { object["frames_processed"] = .array(framesProcessed.map { .int($0) }) }
        let detectionsValue: JSONValue = detections.map { .array($0.map(\.json)) } ?? .null
        if failure != nil && width == nil && datetime == nil {
            object["failure"] = .string(failure!)
            object["detections"] = .null
        } else {
            object["detections"] = failure == nil ? detectionsValue : .null
            if let failure { object["failure"] = .string(failure) }
        }
        if let width { object["width"] = .int(width) }
        if let height { object["height"] = .int(height) }
        if let datetime { object["datetime"] = datetime.map { .string($0) } ?? .null }
        if let exifMetadata { object["exif_metadata"] = .object(JSONObject(exifMetadata.map { ($0.0, .string($0.1)) })) }
        for (key, value) in extra where object[key] == nil { object[key] = value }
        return .object(object)
    }

    /// Reads an entry of a results or checkpoint file.
    public init(json: JSONValue) throws {
        guard let object = json.object, let file = object["file"]?.string else {
            throw ResultsFormatError.invalid(path: "images[]", reason: "an image entry without a 'file' string")
        }
        self.file = file
        failure = object["failure"]?.string
        if let list = object["detections"]?.array {
            detections = try list.map { item in
                guard let d = item.object, let category = d["category"]?.string, let conf = d["conf"]?.number,
                      let box = d["bbox"]?.array?.compactMap(\.number), box.count == 4 else {
                    throw ResultsFormatError.invalid(path: file, reason: "a detection without category/conf/bbox")
                }
                var frameNumber: Int?
                if case let .int(number)? = d["frame_number"] { frameNumber = number }
                var detection = DetectionResult(category: category, conf: conf, bbox: box, frameNumber: frameNumber)
                detection.classifications = DetectionResult.pairs(d["classifications"])
                detection.rawClassifications = DetectionResult.pairs(d["raw_classifications"])
                let known: Set<String> = ["category", "conf", "bbox", "frame_number", "classifications", "raw_classifications"]
                detection.extra = d.entries.filter { !known.contains($0.key) }.map { ($0.key, $0.value) }
                return detection
            }
        }
        if case let .int(value)? = object["width"] { width = value }
        if case let .int(value)? = object["height"] { height = value }
        if let value = object["datetime"] { datetime = .some(value.string) }
        if let exif = object["exif_metadata"]?.object {
            exifMetadata = exif.entries.map { ($0.key, $0.value.string ?? "") }
        }
        frameRate = object["frame_rate"]?.number
        framesProcessed = object["frames_processed"]?.array?.compactMap { value in
            if case let .int(number) = value { return number }
            return nil
        }
        let known: Set<String> = ["file", "failure", "detections", "width", "height", "datetime", "exif_metadata", "frame_rate",
                                  "frames_processed"]
        extra = object.entries.filter { !known.contains($0.key) }.map { ($0.key, $0.value) }
    }
}

public enum ResultsFormatError: Error, Equatable, CustomStringConvertible {
    case invalid(path: String, reason: String)
    case unreadable(path: String, reason: String)

    public var description: String {
        switch self {
        case let .invalid(path, reason): return "invalid results (\(path)): \(reason)"
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        }
    }
}
