import Foundation
import ResultsFormat

/// The photos of a speciesnet run and the names its `predictions.json` gives them, as
/// `prepare_instances_dict` makes them: a folder is searched at every depth for speciesnet's
/// extensions (exactly these spellings) and named `FOLDER/relative/path` with the folder as given
/// (normalised as `pathlib` does); a `.txt` file lists paths one per line; a `.json` file is an
/// instances file with locations; anything else is one photo.
public enum SpeciesNetInputs {
    public static let extensions: Set<String> = ["jpg", "JPG", "jpeg", "JPEG", "png", "PNG", "tif", "TIF", "tiff", "TIFF", "webp", "WEBP"]

    public struct Failure: Error, CustomStringConvertible {
        public let input: String
        public var description: String { "\(input) is neither a folder, a photo nor a .txt list of photos" }
    }

    public struct InvalidInstances: Error, CustomStringConvertible {
        public let path: String
        public let reason: String
        public var description: String { "\(path) is not a speciesnet instances file ({\"instances\": [{\"filepath\": ...}]}): \(reason)" }
    }

    /// The run's photos with their locations: a `.json` input is speciesnet's instances file
    /// (`filepath`, optional `country`, `admin1_region`, `latitude`, `longitude`), anything else as `photos(in:)`.
    public static func instances(in input: String) throws -> [SpeciesNetInstance] {
        guard input.lowercased().hasSuffix(".json") else { return try photos(in: input).map { SpeciesNetInstance(filepath: $0) } }
        let document = try ResultsFile.readJSONObject(path: input)
        guard let list = document["instances"]?.array else { throw InvalidInstances(path: input, reason: "no \"instances\" list") }
        return try list.enumerated().map { index, value in
            guard let object = value.object, let filepath = object["filepath"]?.string else {
                throw InvalidInstances(path: input, reason: "instance \(index) has no filepath")
            }
            for key in ["latitude", "longitude"] where object[key] != nil && object[key]?.number == nil && object[key] != .null {
                throw InvalidInstances(path: input, reason: "instance \(index): \(key) is not a number")
            }
            func text(_ key: String) -> String? { object[key]?.string }
            func number(_ key: String) -> JSONValue? { object[key]?.number == nil ? nil : object[key] }
            return SpeciesNetInstance(filepath: filepath, country: text("country"), admin1Region: text("admin1_region"),
                                      latitude: number("latitude"), longitude: number("longitude"))
        }
    }

    /// Names as written, in speciesnet's order (sorted as `pathlib` paths: part by part).
    public static func photos(in input: String) throws -> [String] {
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isFolder) else { throw Failure(input: input) }
        if !isFolder.boolValue {
            guard input.hasSuffix(".txt") else { return [normalised(input)] }
            let text = try String(contentsOfFile: input, encoding: .utf8)
            return text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
                .filter { !$0.isEmpty }
        }
        let folder = normalised(input)
        guard let walker = FileManager.default.enumerator(atPath: input) else { throw Failure(input: input) }
        var found: [String] = []
        while let relative = walker.nextObject() as? String {
            let name = (relative as NSString).lastPathComponent
            guard let dot = name.lastIndex(of: "."), extensions.contains(String(name[name.index(after: dot)...])) else { continue }
            var isDirectory: ObjCBool = false
            let path = (input as NSString).appendingPathComponent(relative)
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue else { continue }
            found.append(folder == "." ? relative : folder + (folder.hasSuffix("/") ? "" : "/") + relative)
        }
        return found.sorted { lhs, rhs in
            let (a, b) = (lhs.split(separator: "/"), rhs.split(separator: "/"))
            for (x, y) in zip(a, b) where x != y { return x.unicodeScalars.lexicographicallyPrecedes(y.unicodeScalars) }
            return a.count < b.count
        }
    }

    /// `Path(text).as_posix()`: repeated and trailing slashes and `.` parts dropped.
    static func normalised(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        let parts = path.split(separator: "/").filter { $0 != "." }
        let joined = parts.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}
