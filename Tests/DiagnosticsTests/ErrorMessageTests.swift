import Diagnostics
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif
import Testing

/// Errors that reach users read as one plain sentence naming the host or path, never as an NSError
/// dictionary; the project's own errors pass through as they describe themselves.
struct ErrorMessageTests {
    static let modelURL = URL(string: "https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.0.pt")!

    @Test func offlineDownloadNamesTheHost() {
        // What URLSession reports offline on Linux: the bridged NSError, and the URLError it wraps.
        let bridged = NSError(domain: NSURLErrorDomain, code: NSURLErrorCannotFindHost,
                              userInfo: [NSURLErrorFailingURLErrorKey: Self.modelURL, NSURLErrorFailingURLStringErrorKey: Self.modelURL.absoluteString])
        let sentence = ErrorMessage.sentence(for: bridged)
        #expect(sentence == "cannot reach github.com (no network connection, or its name does not resolve)")
        #expect(ErrorMessage.sentence(for: URLError(.notConnectedToInternet, userInfo: [NSURLErrorFailingURLErrorKey: Self.modelURL])) == sentence)
        #expect(ErrorMessage.sentence(for: URLError(.timedOut, userInfo: [NSURLErrorFailingURLErrorKey: Self.modelURL])) == "github.com did not answer in time")
        #expect(!sentence.contains("Domain") && !sentence.contains("UserInfo"))
    }

    @Test func missingFileNamesThePath() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("absent-\(UUID().uuidString).json").path
        let error = try #require(throws: (any Error).self) { try Data(contentsOf: URL(fileURLWithPath: path)) }
        #expect(ErrorMessage.sentence(for: error) == "no such file or folder: \(path)")
    }

    @Test func posixErrorsReadAsStrerror() {
        #expect(ErrorMessage.sentence(for: POSIXError(.EACCES)) == "Permission denied")
    }

    @Test func ownErrorsPassThrough() {
        struct Refused: Error, CustomStringConvertible { var description: String { "model file refused: truncated" } }
        #expect(ErrorMessage.sentence(for: Refused()) == "model file refused: truncated")
    }
}
