import Crypto
import Foundation

/// Callers and their API keys, stored as SHA-256 hashes (a file of `name hexdigest` lines), so the
/// key file never holds a usable secret.
public struct APIKeys: Sendable {
    public let callers: [String: String]  // hash -> caller name

    public enum FileError: Error, CustomStringConvertible, Equatable {
        case malformedLine(number: Int)
        case empty

        public var description: String {
            switch self {
            case let .malformedLine(number): return "API key file line \(number): expected 'caller sha256hex' (64 hex digits)"
            case .empty: return "the API key file lists no keys"
            }
        }
    }

    /// Reads `caller sha256hex` lines; blank lines and `#` comments are skipped, anything else that
    /// is not a caller and a 64-digit hash is an error (a typo must not silently lock a caller out).
    public init(file: String) throws {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        var callers: [String: String] = [:]
        for (number, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let parts = trimmed.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count == 2, parts[1].count == 64, parts[1].allSatisfy(\.isHexDigit) else { throw FileError.malformedLine(number: number + 1) }
            callers[parts[1].lowercased()] = String(parts[0])
        }
        guard !callers.isEmpty else { throw FileError.empty }
        self.callers = callers
    }

    public init(callers: [String: String]) {
        self.callers = callers
    }

    /// The caller a presented key belongs to, if any.
    public func caller(forKey key: String) -> String? {
        callers[Self.hash(key)]
    }

    /// The lowercase hex SHA-256 of a key, as the key file lists it.
    public static func hash(_ key: String) -> String {
        SHA256.hash(data: Data(key.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
