import Foundation
import VideoDecoding

/// Finds the photos a batch run covers, as the reference does: extensions .jpg .jpeg .gif .png .tif
/// .tiff .bmp .webp .avif (any case), hidden files and folders skipped, optional recursion, sorted.
/// With `includeVideos`, clips too (the reference's video extensions, `VideoFiles`), sorted among the
/// photos: one run covers a survey folder that mixes both.
public enum ImageEnumerator {
    public static let extensions: Set<String> = ["jpg", "jpeg", "gif", "png", "tif", "tiff", "bmp", "webp", "avif"]

    public enum Failure: Error, CustomStringConvertible {
        case missing(String)
        case unreadableList(String, String)
        public var description: String {
            switch self {
            case let .missing(path): return "input \(path) does not exist"
            case let .unreadableList(path, reason): return "cannot read the image list \(path): \(reason)"
            }
        }
    }

    public static func isImage(_ path: String) -> Bool {
        extensions.contains((path as NSString).pathExtension.lowercased())
    }

    /// Absolute paths of the images named by `input`: a folder, one image, a `.json` array or a
    /// `.txt` list (one path per line). Returns the folder to make file names relative to, if any.
    public static func images(in input: String, recursive: Bool, includeVideos: Bool = false) throws -> (paths: [String], base: String?) {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: input, isDirectory: &isDirectory) else { throw Failure.missing(input) }
        let absolute = URL(fileURLWithPath: input).standardizedFileURL.path
        if isDirectory.boolValue {
            return (try folder(absolute, recursive: recursive, includeVideos: includeVideos), absolute)
        }
        let lower = input.lowercased()
        if lower.hasSuffix(".json") {
            guard let data = FileManager.default.contents(atPath: input),
                  let list = (try? JSONSerialization.jsonObject(with: data)) as? [String] else {
                throw Failure.unreadableList(input, "expected a JSON array of paths")
            }
            return (list, nil)
        }
        if lower.hasSuffix(".txt") {
            guard let text = try? String(contentsOfFile: input, encoding: .utf8) else { throw Failure.unreadableList(input, "not UTF-8 text") }
            return (text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }, nil)
        }
        return ([absolute], nil)
    }

    static func folder(_ root: String, recursive: Bool, includeVideos: Bool) throws -> [String] {
        var found: [String] = []
        var pending = [root]
        while let folder = pending.popLast() {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
            for name in names where !name.hasPrefix(".") {
                let path = (folder as NSString).appendingPathComponent(name)
                var isDirectory: ObjCBool = false
                _ = FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory)
                if isDirectory.boolValue {
                    if recursive { pending.append(path) }
                } else if isImage(name) || (includeVideos && VideoFiles.isVideo(name)) {
                    found.append(path)
                }
            }
        }
        return found.sorted { $0.unicodeScalars.map(\.value).lexicographicallyPrecedes($1.unicodeScalars.map(\.value)) }
    }

    /// `path` relative to `base` with forward slashes (the reference's relpath).
    public static func relative(_ path: String, to base: String) -> String {
        let prefix = base.hasSuffix("/") ? base : base + "/"
        return path.hasPrefix(prefix) ? String(path.dropFirst(prefix.count)) : path
    }
}
