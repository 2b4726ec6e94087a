import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
import Diagnostics
#endif

/// Fetches one photo named by URL into a temporary file: the URL policy is checked again first,
/// transient failures (network errors, 429, 5xx) are retried with exponential backoff, and a photo
/// larger than `maxBytes` is refused (it is streamed to disk, never held in memory).
public struct PhotoDownloader: Sendable {
    public let policy: URLPolicy
    public let maxBytes: Int
    public let attempts: Int
    public let timeoutSeconds: Double

    public enum Failure: Error, CustomStringConvertible {
        case refused(String)
        case tooLarge(bytes: Int, limit: Int)
        case http(status: Int)
        case network(String)

        public var description: String {
            switch self {
            case let .refused(reason): return "refused: \(reason)"
            case let .tooLarge(bytes, limit): return "\(bytes) bytes, more than the \(limit)-byte limit"
            case let .http(status): return "HTTP status \(status)"
            case let .network(reason): return "network error: \(reason)"
            }
        }

        var isTransient: Bool {
            switch self {
            case .network: return true
            case let .http(status): return status == 429 || status >= 500
            case .refused, .tooLarge: return false
            }
        }
    }

    public init(policy: URLPolicy, maxBytes: Int = 100 << 20, attempts: Int = 3, timeoutSeconds: Double = 20) {
        self.policy = policy
        self.maxBytes = maxBytes
        self.attempts = max(attempts, 1)
        self.timeoutSeconds = timeoutSeconds
    }

    /// The downloaded file; the caller removes it.
    public func download(_ reference: String) throws -> URL {
        if let reason = policy.refusal(reference) { throw Failure.refused(reason) }
        guard let url = URL(string: reference) else { throw Failure.refused("not a URL") }
        return try fetch(url)
    }

    /// Downloads a URL the operator's configuration produced (a presigned S3 URL on the configured
    /// endpoint), so the caller-URL policy does not apply; retries and the size limit do.
    public func fetch(_ url: URL) throws -> URL {
        var failure = Failure.network("not attempted")
        for attempt in 0..<attempts {
            if attempt > 0 { Thread.sleep(forTimeInterval: 0.5 * Double(1 << (attempt - 1))) }
            switch once(url) {
            case let .success(file): return file
            case let .failure(error):
                failure = error
                if !error.isTransient { throw error }
            }
        }
        throw failure
    }

    private final class Outcome: @unchecked Sendable {
        // Safety: written once by the completion handler before the semaphore is signalled, read after.
        var value: Result<URL, Failure> = .failure(.network("no answer"))
    }

    private func once(_ url: URL) -> Result<URL, Failure> {
        let outcome = Outcome()
        let done = DispatchSemaphore(value: 0)
        let limit = maxBytes
        let task = URLSession.shared.downloadTask(with: URLRequest(url: url, timeoutInterval: timeoutSeconds)) { location, response, error in
            defer { done.signal() }
            if let error { outcome.value = .failure(.network("\(error.localizedDescription)")); return }
            guard let http = response as? HTTPURLResponse, let location else { outcome.value = .failure(.network("no response")); return }
            guard (200..<300).contains(http.statusCode) else { outcome.value = .failure(.http(status: http.statusCode)); return }
            let size = (try? FileManager.default.attributesOfItem(atPath: location.path)[.size] as? Int) ?? 0
            guard size <= limit else { outcome.value = .failure(.tooLarge(bytes: size, limit: limit)); return }
            // The system removes `location` when this handler returns.
            let kept = FileManager.default.temporaryDirectory.appendingPathComponent("md-photo-\(UUID().uuidString)-\(url.lastPathComponent)")
            do {
                try FileManager.default.moveItem(at: location, to: kept)
                outcome.value = .success(kept)
            } catch {
                outcome.value = .failure(.network("cannot keep the download: \(ErrorMessage.sentence(for: error))"))
            }
        }
        task.resume()
        done.wait()
        return outcome.value
    }
}
