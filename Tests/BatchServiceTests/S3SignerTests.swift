import BatchService
import Foundation
import Testing
import TestSupport

/// SigV4 signatures must equal botocore's for the same request and time (fixtures written by
/// Tests/Fixtures/s3/make_sigv4_fixtures.py), including keys with spaces, non-ASCII letters and
/// reserved characters, and temporary credentials with a session token.
struct S3SignerTests {
    nonisolated(unsafe) static let cases: [[String: Any]] = {  // read-only after first use; fixturesArePresent fails when empty
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/s3/sigv4.json")
        return ((try? Fixtures.jsonObject(at: url))?["cases"] as? [[String: Any]]) ?? []
    }()

    static func date(_ text: String) -> Date {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        return formatter.date(from: text)!
    }

    static func client(_ fixture: [String: Any]) throws -> S3Client {
        let signer = S3Signer(accessKey: fixture["access_key"] as! String, secretKey: fixture["secret_key"] as! String,
                              sessionToken: fixture["session_token"] as? String, region: fixture["region"] as! String)
        return S3Client(endpoint: try #require(URL(string: fixture["endpoint"] as! String)), signer: signer, buckets: [fixture["bucket"] as! String])
    }

    @Test func fixturesArePresent() {
        #expect(Self.cases.count == 2)
    }

    @Test(arguments: 0..<2) func presignedURLEqualsBotocore(_ index: Int) throws {
        let fixture = try #require(Self.cases.indices.contains(index) ? Self.cases[index] : nil)
        let client = try Self.client(fixture)
        let bucket = fixture["bucket"] as! String, key = fixture["key"] as! String
        let url = client.signer.presignedURL(endpoint: client.endpoint, path: "/\(bucket)/" + S3Signer.encode(key, keepSlash: true),
                                             expires: fixture["expires"] as! Int, date: Self.date(fixture["time"] as! String))
        #expect(url?.absoluteString == fixture["presigned_url"] as? String)
    }

    @Test(arguments: 0..<2) func listRequestSignatureEqualsBotocore(_ index: Int) throws {
        let fixture = try #require(Self.cases.indices.contains(index) ? Self.cases[index] : nil)
        let client = try Self.client(fixture)
        let list = fixture["list"] as! [String: String]
        let headers = client.signer.signedHeaders(endpoint: client.endpoint, path: "/\(fixture["bucket"] as! String)",
                                                  query: [("list-type", "2"), ("prefix", list["prefix"]!), ("continuation-token", list["continuation_token"]!)],
                                                  date: Self.date(fixture["time"] as! String))
        #expect(headers["authorization"] == list["authorization"])
        #expect(headers["x-amz-content-sha256"] == list["x-amz-content-sha256"])
    }

    @Test func bucketsOutsideTheAllowListAreRefused() throws {
        let client = S3Client(endpoint: URL(string: "http://127.0.0.1:9")!, signer: S3Signer(accessKey: "a", secretKey: "b", region: "us-east-1"),
                              buckets: ["traps"])
        #expect(try client.parse("s3://traps/site 3/cam1/").key == "site 3/cam1/")
        #expect(throws: S3Client.Failure.self) { try client.parse("s3://payroll/2024/") }
        #expect(throws: S3Client.Failure.self) { try client.parse("s3:///nobucket") }
        #expect(throws: S3Client.Failure.self) { try client.parse("https://traps/x.jpg") }
    }
}
