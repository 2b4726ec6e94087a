import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
#if canImport(FoundationXML)
import FoundationXML
#endif

/// An S3-compatible bucket store (AWS S3, MinIO, Ceph, moto): lists the photos under a prefix for a
/// job and gives workers presigned URLs to download them. Path-style addressing
/// (`ENDPOINT/bucket/key`), which every S3-compatible server accepts. The operator configures the
/// endpoint and the buckets jobs may read; callers only name `s3://bucket/prefix`.
public struct S3Client: Sendable {
    public let endpoint: URL
    public let signer: S3Signer
    /// Buckets jobs may name; any other is refused.
    public let buckets: Set<String>
    public let timeoutSeconds: Double

    public enum Failure: Error, CustomStringConvertible {
        case malformedURI(String)
        case bucketNotAllowed(String)
        case http(status: Int, body: String)
        case network(String)
        case malformedListing

        public var description: String {
            switch self {
            case let .malformedURI(uri): return "\(uri) is not of the form s3://bucket/prefix"
            case let .bucketNotAllowed(bucket): return "bucket '\(bucket)' is not one this service may read (--s3-bucket)"
            case let .http(status, body): return "S3 answered HTTP \(status): \(body.prefix(300))"
            case let .network(reason): return "S3 network error: \(reason)"
            case .malformedListing: return "S3 listing could not be read"
            }
        }
    }

    public init(endpoint: URL, signer: S3Signer, buckets: Set<String>, timeoutSeconds: Double = 30) {
        self.endpoint = endpoint
        self.signer = signer
        self.buckets = buckets
        self.timeoutSeconds = timeoutSeconds
    }

    /// `s3://bucket/prefix` split, the bucket checked against the allow-list.
    public func parse(_ uri: String) throws -> (bucket: String, key: String) {
        guard uri.hasPrefix("s3://") else { throw Failure.malformedURI(uri) }
        let rest = uri.dropFirst(5)
        let bucket = String(rest.prefix { $0 != "/" })
        guard !bucket.isEmpty else { throw Failure.malformedURI(uri) }
        guard buckets.contains(bucket) else { throw Failure.bucketNotAllowed(bucket) }
        return (bucket, String(rest.dropFirst(bucket.count + 1)))
    }

    func objectPath(bucket: String, key: String) -> String {
        "/" + S3Signer.encode(bucket, keepSlash: false) + "/" + S3Signer.encode(key, keepSlash: true)
    }

    /// A presigned GET URL for an `s3://bucket/key` photo (valid 15 minutes).
    public func downloadURL(_ uri: String) throws -> URL {
        let (bucket, key) = try parse(uri)
        guard let url = signer.presignedURL(endpoint: endpoint, path: objectPath(bucket: bucket, key: key), expires: 900) else {
            throw Failure.malformedURI(uri)
        }
        return url
    }

    /// Every key under `s3://bucket/prefix` whose extension is in `extensions`, as `s3://` URIs in key
    /// order; stops with `tooMany` once more than `limit` match, so a huge bucket cannot exhaust memory.
    public func list(_ uri: String, extensions: Set<String>, limit: Int) throws -> [String] {
        let (bucket, prefix) = try parse(uri)
        var uris: [String] = []
        var continuation: String?
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let continuation { query.append(("continuation-token", continuation)) }
            let page = try ListingPage(xml: try get(path: "/" + S3Signer.encode(bucket, keepSlash: false), query: query))
            for key in page.keys where extensions.contains((key as NSString).pathExtension.lowercased()) {
                uris.append("s3://\(bucket)/\(key)")
                if uris.count > limit { throw PhotoSource.Refusal.tooMany(count: uris.count, limit: limit) }
            }
            continuation = page.truncated ? page.nextToken : nil
        } while continuation != nil
        return uris
    }

    private final class Outcome: @unchecked Sendable {
        // Safety: written once by the completion handler before the semaphore is signalled, read after.
        var value: Result<Data, Failure> = .failure(.network("no answer"))
    }

    /// A signed GET of a bucket-level resource; the body of a 2xx answer.
    func get(path: String, query: [(String, String)]) throws -> Data {
        let queryString = query.map { "\(S3Signer.encode($0.0, keepSlash: false))=\(S3Signer.encode($0.1, keepSlash: false))" }.joined(separator: "&")
        let base = endpoint.absoluteString.hasSuffix("/") ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
        guard let url = URL(string: base + path + "?" + queryString) else { throw Failure.malformedListing }
        var request = URLRequest(url: url, timeoutInterval: timeoutSeconds)
        for (name, value) in signer.signedHeaders(endpoint: endpoint, path: path, query: query) { request.setValue(value, forHTTPHeaderField: name) }
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        URLSession.shared.dataTask(with: request) { data, response, error in
            defer { done.signal() }
            if let error { outcome.value = .failure(.network(error.localizedDescription)); return }
            guard let http = response as? HTTPURLResponse else { outcome.value = .failure(.network("no response")); return }
            guard (200..<300).contains(http.statusCode) else {
                outcome.value = .failure(.http(status: http.statusCode, body: String(decoding: data ?? Data(), as: UTF8.self)))
                return
            }
            outcome.value = .success(data ?? Data())
        }.resume()
        done.wait()
        return try outcome.value.get()
    }
}

/// One page of a ListObjectsV2 answer: its keys, whether more follow, and the token for the next page.
struct ListingPage {
    var keys: [String] = []
    var truncated = false
    var nextToken: String?

    init(xml: Data) throws {
        let reader = Reader()
        let parser = XMLParser(data: xml)
        parser.delegate = reader
        guard parser.parse() else { throw S3Client.Failure.malformedListing }
        keys = reader.keys
        truncated = reader.truncated
        nextToken = reader.nextToken
    }

    private final class Reader: NSObject, XMLParserDelegate {
        var keys: [String] = []
        var truncated = false
        var nextToken: String?
        private var text = ""
        private var inContents = false

        func parser(_ parser: XMLParser, didStartElement element: String, namespaceURI: String?, qualifiedName: String?,
                    attributes: [String: String] = [:]) {
            text = ""
            if element == "Contents" { inContents = true }
        }

        func parser(_ parser: XMLParser, foundCharacters string: String) { text += string }

        func parser(_ parser: XMLParser, didEndElement element: String, namespaceURI: String?, qualifiedName: String?) {
            switch element {
            case "Key" where inContents: keys.append(text)
            case "Contents": inContents = false
            case "IsTruncated": truncated = text == "true"
            case "NextContinuationToken": nextToken = text
            default: break
            }
        }
    }
}
