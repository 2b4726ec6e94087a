import Detection
import Foundation
import VideoDecoding
import ResultsFormat

/// Turns a job request's photo references into local paths, refusing anything outside the
/// configured roots: `..` segments, symbolic links that leave a root, and paths that do not exist.
public struct PhotoSource: Sendable {
    public let roots: [String]
    public let urlPolicy: URLPolicy
    /// Buckets jobs may read as `s3://bucket/prefix` (nil: S3 is not configured).
    public let s3: S3Client?

    public enum Refusal: Error, CustomStringConvertible, Equatable {
        case outsideRoots(String)
        case notFound(String)
        case unsupportedScheme(String)
        case tooMany(count: Int, limit: Int)
        case malformedList(String)
        case urlRefused(String, reason: String)

        public var description: String {
            switch self {
            case let .outsideRoots(path): return "\(path) is not inside an allowed root folder"
            case let .notFound(path): return "\(path) does not exist"
            case let .unsupportedScheme(reference): return "\(reference): only local paths under the configured roots are supported"
            case let .tooMany(count, limit): return "the job names \(count) photos; the limit is \(limit)"
            case let .urlRefused(url, reason): return "\(url): \(reason)"
            case let .malformedList(path): return "\(path) must hold a JSON list of paths or [path, metadata] pairs"
            }
        }
    }

    public init(roots: [String], urlPolicy: URLPolicy = .refuseAll, s3: S3Client? = nil) {
        self.roots = roots.map { URL(fileURLWithPath: $0).resolvingSymlinksInPath().standardizedFileURL.path }
        self.urlPolicy = urlPolicy
        self.s3 = s3
    }

    /// The S3 client for an `s3://` reference, or a refusal when the service has none.
    func s3Client(for reference: String) throws -> S3Client {
        guard let s3 else { throw Refusal.unsupportedScheme(reference) }
        return s3
    }

    /// The real path of `reference` if it lies under a root.
    public func confine(_ reference: String) throws -> String {
        if reference.contains("://") { throw Refusal.unsupportedScheme(reference) }
        if reference.split(separator: "/").contains("..") { throw Refusal.outsideRoots(reference) }
        let absolute = reference.hasPrefix("/") ? reference : ((roots.first ?? "/") as NSString).appendingPathComponent(reference)
        guard FileManager.default.fileExists(atPath: absolute) else { throw Refusal.notFound(reference) }
        let real = URL(fileURLWithPath: absolute).resolvingSymlinksInPath().standardizedFileURL.path
        guard roots.contains(where: { real == $0 || real.hasPrefix($0 + "/") }) else { throw Refusal.outsideRoots(reference) }
        return real
    }

    /// Photos (and clips) of a request: a folder (searched recursively; or every photo and clip under
    /// `s3://bucket/prefix`) or a list of images (paths, `s3://bucket/key`, or http(s) URLs where allowed).
    public func photos(folder: String?, images: [String]?, limit: Int, firstN: Int?, sampleN: Int?, extensions: Set<String>?) throws -> [String] {
        var paths: [String] = []
        if let folder, folder.hasPrefix("s3://") {
            paths += try s3Client(for: folder).list(folder, extensions: extensions ?? ImageEnumerator.extensions.union(VideoFiles.extensions), limit: limit)
        } else if let folder {
            paths += try ImageEnumerator.images(in: try confine(folder), recursive: true, includeVideos: true).paths.map { try confine($0) }
        }
        for image in images ?? [] {
            if image.hasPrefix("s3://") {
                _ = try s3Client(for: image).parse(image)
                paths.append(image)
            } else if image.contains("://") && urlPolicy.allowURLs {
                if let reason = urlPolicy.refusal(image) { throw Refusal.urlRefused(image, reason: reason) }
                paths.append(image)
            } else {
                paths.append(try confine(image))
            }
        }
        if let extensions { paths = paths.filter { extensions.contains(($0 as NSString).pathExtension.lowercased()) } }
        if let firstN { paths = Array(paths.prefix(firstN)) }
        if let sampleN, sampleN < paths.count {
            var generator = SystemRandomNumberGenerator()
            paths = Array(paths.shuffled(using: &generator).prefix(sampleN)).sorted()
        }
        guard paths.count <= limit else { throw Refusal.tooMany(count: paths.count, limit: limit) }
        return paths
    }

    /// The reference processed only these.
    static let referenceExtensions: Set<String> = ["jpg", "jpeg", "png"]

    /// Photos of a reference-API request, filtered in the reference's order: the requested list (a
    /// JSON file of paths from the container, or `[path, metadata]` pairs), the path prefix, first_n,
    /// sample_n. `container` must already be confined.
    public func referencePhotos(container: String, requestedList: String?, pathPrefix: String?, firstN: Int?, sampleN: Int?,
                                limit: Int) throws -> [String] {
        var photos: [String]
        if let requestedList {
            let listed = try JSONParser.parse(Array(try Data(contentsOf: URL(fileURLWithPath: try confine(requestedList)))))
            guard let entries = listed.array else { throw Refusal.malformedList(requestedList) }
            photos = try entries.compactMap { $0.string ?? $0.array?.first?.string }.map { try confine((container as NSString).appendingPathComponent($0)) }
        } else {
            photos = try ImageEnumerator.images(in: container, recursive: true).paths.map { try confine($0) }
        }
        photos = photos.filter { Self.referenceExtensions.contains(($0 as NSString).pathExtension.lowercased()) }
        if let pathPrefix { photos = photos.filter { ImageEnumerator.relative($0, to: container).hasPrefix(pathPrefix) } }
        if let firstN { photos = Array(photos.prefix(max(firstN, 0))) }
        if let sampleN, sampleN < photos.count {
            var generator = SystemRandomNumberGenerator()
            photos = Array(photos.shuffled(using: &generator).prefix(max(sampleN, 0))).sorted()
        }
        guard photos.count <= limit else { throw Refusal.tooMany(count: photos.count, limit: limit) }
        return photos
    }
}
