import Crypto
import Foundation

/// AWS Signature Version 4 for S3 requests: header-signed requests (ListObjectsV2) and presigned GET
/// URLs (object downloads, fetched like any photo URL). Checked against botocore's signatures
/// (Tests/Fixtures/s3/make_sigv4_fixtures.py).
public struct S3Signer: Sendable {
    public let accessKey: String
    public let secretKey: String
    public let sessionToken: String?
    public let region: String

    public init(accessKey: String, secretKey: String, sessionToken: String? = nil, region: String) {
        self.accessKey = accessKey
        self.secretKey = secretKey
        self.sessionToken = sessionToken
        self.region = region
    }

    /// The hex SHA-256 of an empty body, which every GET signs.
    static let emptyPayloadHash = hex(Data(SHA256.hash(data: Data())))

    /// RFC 3986 percent-encoding as SigV4 wants it: only unreserved characters stay, and `/` too
    /// where `keepSlash` (object paths).
    public static func encode(_ text: String, keepSlash: Bool) -> String {
        var result = ""
        for byte in text.utf8 {
            let character = Character(Unicode.Scalar(byte))
            if character.isASCII && (character.isLetter || character.isNumber || "-_.~".contains(character) || (keepSlash && character == "/")) {
                result.append(character)
            } else {
                result += String(format: "%%%02X", byte)
            }
        }
        return result
    }

    static func hex(_ data: Data) -> String { data.map { String(format: "%02x", $0) }.joined() }

    static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.string(from: date)
    }

    /// "host" or "host:port" as the Host header carries it (default ports left out).
    static func hostHeader(_ endpoint: URL) -> String {
        let host = endpoint.host ?? ""
        guard let port = endpoint.port, !(endpoint.scheme == "http" && port == 80), !(endpoint.scheme == "https" && port == 443) else { return host }
        return "\(host):\(port)"
    }

    func signature(for canonicalRequest: String, time: String) -> (scope: String, signature: String) {
        let day = String(time.prefix(8))
        let scope = "\(day)/\(region)/s3/aws4_request"
        let stringToSign = "AWS4-HMAC-SHA256\n\(time)\n\(scope)\n\(Self.hex(Data(SHA256.hash(data: Data(canonicalRequest.utf8)))))"
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, "s3", "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        return (scope, Self.hex(Data(HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key))))
    }

    static func canonicalQuery(_ parameters: [(String, String)]) -> String {
        let encoded: [(key: String, value: String)] = parameters.map { (encode($0.0, keepSlash: false), encode($0.1, keepSlash: false)) }
        let sorted = encoded.sorted { $0.key == $1.key ? $0.value < $1.value : $0.key < $1.key }
        return sorted.map { $0.key + "=" + $0.value }.joined(separator: "&")
    }

    /// The headers that sign a GET of `path` (already encoded, starting with `/`) with `query`.
    public func signedHeaders(endpoint: URL, path: String, query: [(String, String)], date: Date = Date()) -> [String: String] {
        let time = Self.timestamp(date)
        var headers = ["host": Self.hostHeader(endpoint), "x-amz-content-sha256": Self.emptyPayloadHash, "x-amz-date": time]
        if let sessionToken { headers["x-amz-security-token"] = sessionToken }
        let names = headers.keys.sorted()
        let canonical = ["GET", path, Self.canonicalQuery(query), names.map { "\($0):\(headers[$0]!)\n" }.joined(),
                         names.joined(separator: ";"), Self.emptyPayloadHash].joined(separator: "\n")
        let (scope, signature) = signature(for: canonical, time: time)
        headers["authorization"] = "AWS4-HMAC-SHA256 Credential=\(accessKey)/\(scope), SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature)"
        headers.removeValue(forKey: "host")
        return headers
    }

    /// A URL anyone holding it may GET for `expires` seconds: the object at `path` (already encoded).
    public func presignedURL(endpoint: URL, path: String, expires: Int, date: Date = Date()) -> URL? {
        let time = Self.timestamp(date)
        var query = [("X-Amz-Algorithm", "AWS4-HMAC-SHA256"), ("X-Amz-Credential", "\(accessKey)/\(time.prefix(8))/\(region)/s3/aws4_request"),
                     ("X-Amz-Date", time), ("X-Amz-Expires", "\(expires)"), ("X-Amz-SignedHeaders", "host")]
        if let sessionToken { query.append(("X-Amz-Security-Token", sessionToken)) }
        let canonical = ["GET", path, Self.canonicalQuery(query), "host:\(Self.hostHeader(endpoint))\n", "host", "UNSIGNED-PAYLOAD"]
            .joined(separator: "\n")
        query.append(("X-Amz-Signature", signature(for: canonical, time: time).signature))
        let base = endpoint.absoluteString.hasSuffix("/") ? String(endpoint.absoluteString.dropLast()) : endpoint.absoluteString
        return URL(string: base + path + "?" + query.map { "\($0.0)=\(Self.encode($0.1, keepSlash: false))" }.joined(separator: "&"))
    }
}
