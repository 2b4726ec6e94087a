import Foundation

/// A SpeciesNet model folder as speciesnet's `ModelInfo` reads it: `info.json` names the classifier
/// file, its labels, the taxonomy and geofence files, the model type (`always_crop` classifies each
/// detection's crop; `full_image` the photo's centre) and the version.
public struct SpeciesNetModelFolder: Sendable {
    public enum ModelType: String, Sendable {
        case alwaysCrop = "always_crop"
        case fullImage = "full_image"
    }

    public let folder: String
    public let version: String
    public let type: ModelType
    public let classifierPath: String
    public let labelsPath: String
    public let taxonomyPath: String
    public let geofencePath: String

    public enum Failure: Error, CustomStringConvertible {
        case missing(folder: String, file: String)
        case invalidInfo(path: String, reason: String)

        public var description: String {
            switch self {
            case let .missing(folder, file):
                return "the SpeciesNet model folder \(folder) lacks \(file) (it holds info.json, the classifier .pt, its labels, the taxonomy and the geofence files, as downloaded from Kaggle: google/speciesnet/pyTorch)"
            case let .invalidInfo(path, reason): return "\(path) is not a SpeciesNet info.json: \(reason)"
            }
        }
    }

    public init(folder: String) throws {
        let infoPath = (folder as NSString).appendingPathComponent("info.json")
        guard let data = FileManager.default.contents(atPath: infoPath) else { throw Failure.missing(folder: folder, file: "info.json") }
        guard data.count < 1 << 20, let info = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw Failure.invalidInfo(path: infoPath, reason: "not a JSON object")
        }
        func field(_ key: String) throws -> String {
            guard let value = info[key] as? String, !value.isEmpty else { throw Failure.invalidInfo(path: infoPath, reason: "no \"\(key)\"") }
            return value
        }
        // Files are named relative to the folder; a name that climbs out of it is refused.
        func file(_ key: String) throws -> String {
            let name = try field(key)
            guard !name.hasPrefix("/"), !name.split(separator: "/").contains("..") else {
                throw Failure.invalidInfo(path: infoPath, reason: "\"\(key)\" points outside the folder: \(name)")
            }
            return (folder as NSString).appendingPathComponent(name)
        }
        self.folder = folder
        version = try field("version")
        guard let type = ModelType(rawValue: try field("type")) else {
            throw Failure.invalidInfo(path: infoPath, reason: "unknown type \(info["type"] ?? "") (always_crop or full_image)")
        }
        self.type = type
        classifierPath = try file("classifier")
        labelsPath = try file("classifier_labels")
        taxonomyPath = try file("taxonomy")
        geofencePath = try file("geofence")
        for path in [classifierPath, labelsPath] where !FileManager.default.fileExists(atPath: path) {
            throw Failure.missing(folder: folder, file: (path as NSString).lastPathComponent)
        }
    }
}
