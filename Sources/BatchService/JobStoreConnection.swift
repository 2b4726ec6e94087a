import Foundation
import Logging
import NIOSSL
import PostgresNIO
import Diagnostics

/// Opens the job store a `--database` value names: `postgres://user:password@host:port/db` (or
/// `postgresql://`) for PostgreSQL, anything else is an SQLite file.
public enum JobStoreConnection {
    public enum LocationError: Error, CustomStringConvertible {
        case malformedPostgresURL(String)
        case unsupportedSSLMode(String)
        case unreachable(String, seconds: Int)

        public var description: String {
            switch self {
            case .malformedPostgresURL(let url):
                return "\(url) is not a PostgreSQL URL of the form postgres://user[:password]@host[:port]/database"
            case .unsupportedSSLMode(let mode):
                return "sslmode=\(mode) is not supported (use disable, prefer or require)"
            case .unreachable(let location, let seconds):
                return "no answer from \(location) within \(seconds) s (is PostgreSQL running there, and is the URL right?)"
            }
        }
    }

    /// The location with any password replaced, for logs and error messages.
    public static func redacted(_ location: String) -> String {
        guard isPostgres(location), var components = URLComponents(string: location), components.password != nil else { return location }
        components.password = "***"
        return components.string ?? location
    }

    public static func isPostgres(_ location: String) -> Bool {
        location.hasPrefix("postgres://") || location.hasPrefix("postgresql://")
    }

    /// The client settings for a PostgreSQL URL; `sslmode` disable (default), prefer or require.
    static func configuration(_ location: String) throws -> PostgresClient.Configuration {
        guard let components = URLComponents(string: location), let host = components.host, !host.isEmpty,
              let user = components.user, !user.isEmpty else { throw LocationError.malformedPostgresURL(location) }
        let database = String(components.path.drop { $0 == "/" })
        let mode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let tls: PostgresClient.Configuration.TLS
        switch mode {
        case "disable": tls = .disable
        case "prefer": tls = .prefer(.makeClientConfiguration())
        case "require": tls = .require(.makeClientConfiguration())
        default: throw LocationError.unsupportedSSLMode(mode)
        }
        var configuration = PostgresClient.Configuration(host: host, port: components.port ?? 5432, username: user,
                                                         password: components.password?.removingPercentEncoding,
                                                         database: database.isEmpty ? nil : database, tls: tls)
        configuration.options.connectTimeout = .seconds(5)
        return configuration
    }

    /// How long start-up waits for PostgreSQL to answer, by default.
    public static let defaultStartTimeoutSeconds = 15

    /// Runs `body` with the store open. A PostgreSQL client's connection pool runs in a child task
    /// for exactly as long as `body` does, and its tables are created on first use.
    public static func withStore<Result>(_ location: String, logger: Logger, startTimeoutSeconds: Int = defaultStartTimeoutSeconds,
                                         _ body: (any JobStore) async throws -> Result) async throws -> Result {
        guard isPostgres(location) else {
            return try await body(try SQLiteJobStore(path: location))
        }
        let client = PostgresClient(configuration: try configuration(location), backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            let store = PostgresJobStore(client: client, logger: logger)
            // Once running, the pool waits out a database restart; at start-up a wrong URL or a
            // database that is down must be an error the user sees, not a silent wait.
            try await withThrowingTaskGroup(of: Bool.self) { start in
                start.addTask {
                    // A database that is restarting answers with errors for a moment: keep trying.
                    while true {
                        do {
                            try await store.createSchema()
                            return true
                        } catch where !Task.isCancelled {
                            logger.notice("job store not ready, retrying: \(ErrorMessage.sentence(for: error))")
                            try await Task.sleep(nanoseconds: 500_000_000)
                        }
                    }
                }
                start.addTask { try await Task.sleep(nanoseconds: UInt64(startTimeoutSeconds) * 1_000_000_000); return false }
                let ready = try await start.next() ?? false
                start.cancelAll()
                if !ready { throw LocationError.unreachable(redacted(location), seconds: startTimeoutSeconds) }
            }
            return try await body(store)
        }
    }
}
