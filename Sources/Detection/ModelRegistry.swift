import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Crypto
import Diagnostics
import ResultsFormat

/// MegaDetector's known models: names users type (MDV5A, v5a.0.1, default, ...), where the weights
/// come from, their checksums, and the metadata the results file records (the reference package's
/// `model_string_to_model_version` and `known_models`, in the same order, so version detection from a
/// file name gives the same answer).
public enum ModelRegistry {
    public struct KnownModel: Sendable {
        public let version: String
        public let url: String
        public let md5: String?
        /// The reference's `known_models` entry, in its key order (written as `detector_metadata`).
        public let metadata: [(String, JSONValue)]

        public var fileName: String { String(url.split(separator: "/").last ?? "") }
    }

    public static let nameToVersion: [(String, String)] = [
        ("mdv2", "v2.0.0"), ("mdv3", "v3.0.0"), ("mdv4", "v4.1.0"), ("mdv5a", "v5a.0.1"), ("mdv5b", "v5b.0.1"),
        ("v2", "v2.0.0"), ("v3", "v3.0.0"), ("v4", "v4.1.0"), ("v4.1", "v4.1.0"), ("v5a.0.0", "v5a.0.1"),
        ("v5b.0.0", "v5b.0.1"), ("v5a.0.1", "v5a.0.1"), ("v5b.0.1", "v5b.0.1"),
        ("md1000-redwood", "v1000.0.0-redwood"), ("md1000-cedar", "v1000.0.0-cedar"), ("md1000-larch", "v1000.0.0-larch"),
        ("md1000-sorrel", "v1000.0.0-sorrel"), ("md1000-spruce", "v1000.0.0-spruce"),
        ("mdv1000-redwood", "v1000.0.0-redwood"), ("mdv1000-cedar", "v1000.0.0-cedar"), ("mdv1000-larch", "v1000.0.0-larch"),
        ("mdv1000-sorrel", "v1000.0.0-sorrel"), ("mdv1000-spruce", "v1000.0.0-spruce"),
        ("v1000-redwood", "v1000.0.0-redwood"), ("v1000-cedar", "v1000.0.0-cedar"), ("v1000-larch", "v1000.0.0-larch"),
        ("v1000-sorrel", "v1000.0.0-sorrel"), ("v1000-spruce", "v1000.0.0-spruce"),
        ("redwood", "v1000.0.0-redwood"), ("spruce", "v1000.0.0-spruce"), ("cedar", "v1000.0.0-cedar"), ("larch", "v1000.0.0-larch"),
        ("mdv5", "v5a.0.1"), ("md5", "v5a.0.1"), ("mdv1000", "v1000.0.0-redwood"), ("md1000", "v1000.0.0-redwood"),
        ("default", "v5a.0.1"), ("megadetector", "v5a.0.1"),
    ]

    static let v1000Base = "https://github.com/agentmorris/MegaDetector/releases/download/v1000.0/"
    private static func tf(_ url: String) -> [(String, JSONValue)] {
        [("url", .string(url)), ("typical_detection_threshold", .double(0.8)), ("conservative_detection_threshold", .double(0.3)),
         ("model_type", .string("tf")), ("normalized_typical_inference_speed", .double(1.0 / 3.5))]
    }
    private static func v5(_ url: String, _ md5: String) -> [(String, JSONValue)] {
        [("url", .string(url)), ("typical_detection_threshold", .double(0.2)), ("conservative_detection_threshold", .double(0.05)),
         ("image_size", .int(1280)), ("model_type", .string("yolov5")), ("normalized_typical_inference_speed", .double(1.0)),
         ("md5", .string(md5))]
    }
    private static func v1000(_ name: String, speed: Double, md5: String, threshold: Double? = nil) -> [(String, JSONValue)] {
        var entries: [(String, JSONValue)] = [("url", .string(v1000Base + "md_v1000.0.0-\(name).pt")),
                                              ("normalized_typical_inference_speed", .double(speed)), ("md5", .string(md5))]
        if let threshold { entries.append(("typical_detection_threshold", .double(threshold))) }
        return entries
    }

    public static let knownModels: [String: [(String, JSONValue)]] = [
        "v2.0.0": tf("https://lila.science/public/models/megadetector/megadetector_v2.pb"),
        "v3.0.0": tf("https://lila.science/public/models/megadetector/megadetector_v3.pb"),
        "v4.1.0": tf("https://github.com/agentmorris/MegaDetector/releases/download/v4.1/md_v4.1.0.pb"),
        "v5a.0.0": v5("https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.0.pt", "ec1d7603ec8cf642d6e0cd008ba2be8c"),
        "v5b.0.0": v5("https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5b.0.0.pt", "bc235e73f53c5c95e66ea0d1b2cbf542"),
        "v5a.0.1": v5("https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.1.pt", "60f8e7ec1308554df258ed1f4040bc4f"),
        "v5b.0.1": v5("https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5b.0.1.pt", "f17ed6fedfac2e403606a08c89984905"),
        "v1000.0.0-redwood": v1000("redwood", speed: 1.0, md5: "74474b3aec9cf1a990da38b37ddf9197", threshold: 0.3),
        "v1000.0.0-spruce": v1000("spruce", speed: 12.7, md5: "1c9d1d2b3ba54931881471fdd508e6f2"),
        "v1000.0.0-larch": v1000("larch", speed: 2.4, md5: "cab94ebd190c2278e12fb70ffd548b6d"),
        "v1000.0.0-cedar": v1000("cedar", speed: 2.0, md5: "3d6472c9b95ba687b59ebe255f7c576b"),
        "v1000.0.0-sorrel": v1000("sorrel", speed: 7.0, md5: "4339a2c8af7a381f18ded7ac2a4df03e"),
    ]

    public static func knownModel(named name: String) -> KnownModel? {
        guard let version = nameToVersion.first(where: { $0.0 == name.lowercased() })?.1, let metadata = knownModels[version] else { return nil }
        let url = metadata.first { $0.0 == "url" }?.1.string ?? ""
        let md5 = metadata.first { $0.0 == "md5" }?.1.string
        return KnownModel(version: version, url: url, md5: md5, metadata: metadata)
    }

    /// The reference's `get_detector_version_from_filename`: the first known name contained in the
    /// lower-cased file name, else "unknown".
    public static func version(fromFileName path: String) -> String {
        let name = URL(fileURLWithPath: path).lastPathComponent.lowercased()
        return nameToVersion.first { name.contains($0.0) }?.1 ?? "unknown"
    }

    /// `detector_metadata` for a version string (the known model's entry plus `megadetector_version`,
    /// or the reference's defaults for unknown models: thresholds 0.2 and 0.1).
    public static func detectorMetadata(version: String) -> JSONObject {
        guard let entries = knownModels[version] else {
            return JSONObject([("megadetector_version", .string("unknown")), ("typical_detection_threshold", .double(0.2)),
                               ("conservative_detection_threshold", .double(0.1))])
        }
        var object = JSONObject(entries)
        object["megadetector_version"] = .string(version)
        return object
    }

    public enum Failure: Error, CustomStringConvertible {
        case notFound(String)
        case unavailable(name: String, fileName: String, url: String, cacheFolder: String, reason: String)
        case checksumMismatch(path: String, expected: String, actual: String)
        case downloadRefused(url: String, status: Int)

        public var description: String {
            switch self {
            case let .notFound(model):
                return "model '\(model)' is neither a file nor a known model name (MDV5A, MDV5B, MDV4, ...)"
            case let .unavailable(name, fileName, url, cacheFolder, reason):
                return "model \(name) is not here and cannot be downloaded: \(reason). Download \(url) elsewhere and either put it at \(cacheFolder)/\(fileName) or set the environment variable \(name)=/path/to/\(fileName)"
            case let .downloadRefused(url, status):
                return "the server answered HTTP \(status) for \(url)"
            case let .checksumMismatch(path, expected, actual):
                return "\(path) has MD5 \(actual), expected \(expected): the file is damaged or not the published model"
            }
        }
    }

    /// Where downloaded models live: $MEGADETECTOR_MODEL_DIR, else <temp>/megadetector_models like the reference.
    public static var cacheFolder: String {
        if let folder = ProcessInfo.processInfo.environment["MEGADETECTOR_MODEL_DIR"], !folder.isEmpty { return folder }
        return (NSTemporaryDirectory() as NSString).appendingPathComponent("megadetector_models")
    }

    /// Resolves a model argument: an existing file, else a known name through the environment
    /// variable of the same name, the cache folder (MD5 checked), then a download (MD5 checked).
    public static func resolve(_ model: String, download: Bool = true) throws -> String {
        if FileManager.default.fileExists(atPath: model) { return model }
        guard let known = knownModel(named: model) else { throw Failure.notFound(model) }
        if let path = ProcessInfo.processInfo.environment[model], FileManager.default.fileExists(atPath: path) { return path }
        let cached = (cacheFolder as NSString).appendingPathComponent(known.fileName)
        if FileManager.default.fileExists(atPath: cached) {
            try verify(cached, known)
            return cached
        }
        guard download else {
            throw Failure.unavailable(name: model, fileName: known.fileName, url: known.url, cacheFolder: cacheFolder, reason: "downloads are disabled")
        }
        do {
            try fetch(known.url, to: cached)
        } catch {
            throw Failure.unavailable(name: model, fileName: known.fileName, url: known.url, cacheFolder: cacheFolder,
                                      reason: ErrorMessage.sentence(for: error))
        }
        try verify(cached, known)
        return cached
    }

    static func verify(_ path: String, _ known: KnownModel) throws {
        guard let expected = known.md5 else { return }
        let actual = try md5(ofFile: path)
        guard actual == expected else { throw Failure.checksumMismatch(path: path, expected: expected, actual: actual) }
    }

    /// The file's MD5 as 32 lowercase hex digits, read in 4 MiB pieces.
    public static func md5(ofFile path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { throw Failure.notFound(path) }
        defer { try? handle.close() }
        var md5 = Insecure.MD5()
        while let chunk = try handle.read(upToCount: 1 << 22), !chunk.isEmpty { md5.update(data: chunk) }
        return md5.finalize().map { String(format: "%02x", $0) }.joined()
    }

    private static func fetch(_ url: String, to path: String) throws {
        guard let source = URL(string: url) else { throw Failure.notFound(url) }
        FileHandle.standardError.write(Data("Downloading \(url) to \(path)\n".utf8))
        let semaphore = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var outcome: Result<URL, Error> = .failure(Failure.notFound(url))
        let task = URLSession.shared.downloadTask(with: source) { location, response, error in
            if let location, (response as? HTTPURLResponse)?.statusCode == 200 {
                let staged = URL(fileURLWithPath: path + ".download")
                try? FileManager.default.removeItem(at: staged)
                do {
                    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try FileManager.default.moveItem(at: location, to: staged)
                    outcome = .success(staged)
                } catch { outcome = .failure(error) }
            } else {
                outcome = .failure(error ?? Failure.downloadRefused(url: url, status: (response as? HTTPURLResponse)?.statusCode ?? 0))
            }
            semaphore.signal()
        }
        task.resume()
        semaphore.wait()
        let staged = try outcome.get()
        guard rename(staged.path, path) == 0 else { throw Failure.notFound(path) }
    }
}
