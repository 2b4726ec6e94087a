import Foundation

/// Where a SpeciesNet model named on the command line lives. A folder path is used as it is. A name —
/// `SPECIESNET`/`speciesnet` (the default, v4.0.3a: always_crop), or speciesnet's Kaggle ids
/// (`kaggle:google/speciesnet/pyTorch/v4.0.3a[/1]`, ...) — is looked up in the environment variable
/// `SPECIESNET`, then in the model cache folder (`<cache>/speciesnet/<version>`). We do not download
/// from Kaggle (it needs an account and its client); offline or not, the error says what to put where.
public enum SpeciesNetModels {
    public static let defaultVersion = "v4.0.3a"

    public struct Unavailable: Error, CustomStringConvertible {
        public let name: String
        public let folder: String
        public let version: String
        public var description: String {
            "SpeciesNet model \(name) is not here: download it from Kaggle (google/speciesnet, PyTorch, \(version)) and put its files (info.json, the .pt, labels, taxonomy and geofence files) in \(folder), or set SPECIESNET=/path/to/that/folder"
        }
    }

    /// The model folder for `name`; `cacheFolder` is the detector models' cache folder.
    public static func resolve(_ name: String, cacheFolder: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws -> String {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: name, isDirectory: &isDirectory), isDirectory.boolValue { return name }
        guard let version = version(of: name) else {
            throw SpeciesNetModelFolder.Failure.missing(folder: name, file: "info.json (no such folder, and not a SpeciesNet model name)")
        }
        if let folder = environment["SPECIESNET"], !folder.isEmpty, version == defaultVersion || name.uppercased() == "SPECIESNET" {
            return folder
        }
        let folder = ((cacheFolder as NSString).appendingPathComponent("speciesnet") as NSString).appendingPathComponent(version)
        guard FileManager.default.fileExists(atPath: (folder as NSString).appendingPathComponent("info.json")) else {
            throw Unavailable(name: name, folder: folder, version: version)
        }
        return folder
    }

    /// `speciesnet` -> the default version; `kaggle:google/speciesnet/pyTorch/v4.0.2b/1` -> `v4.0.2b`.
    static func version(of name: String) -> String? {
        if name.lowercased() == "speciesnet" { return defaultVersion }
        let parts = name.split(separator: "/")
        guard name.lowercased().hasPrefix("kaggle:google/speciesnet/"), parts.count >= 4 else { return nil }
        let version = String(parts[3])
        return version.hasPrefix("v4.") && version.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." }) ? version : nil
    }
}
