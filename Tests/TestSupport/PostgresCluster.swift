import Foundation

/// A throwaway PostgreSQL cluster for one test: its own folder and port, trust authentication on
/// loopback, no fsync. `start()` returns nil with the reason where PostgreSQL is not installed, so
/// tests skip rather than fail on machines without it. `initdb` refuses to run as root, so as root
/// the server runs as the `postgres` user.
public final class PostgresCluster: @unchecked Sendable {
    public let folder: URL
    public let port: Int
    let binaries: URL
    let asPostgresUser: Bool
    public var url: String { "postgres://postgres@127.0.0.1:\(port)/postgres" }

    /// The newest installed server's programs (Debian puts them under /usr/lib/postgresql/VERSION/bin).
    static func findBinaries() -> URL? {
        let root = URL(fileURLWithPath: "/usr/lib/postgresql")
        let versions = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return versions.compactMap(Int.init).sorted().reversed()
            .map { root.appendingPathComponent("\($0)/bin") }
            .first { FileManager.default.isExecutableFile(atPath: $0.appendingPathComponent("initdb").path) }
    }

    public static var unavailableReason: String? {
        if findBinaries() == nil { return "PostgreSQL is not installed (apt-get install -y postgresql); skipping PostgreSQL tests" }
        if getuid() == 0 && !["/usr/sbin/runuser", "/sbin/runuser", "/usr/bin/runuser"].contains(where: FileManager.default.isExecutableFile(atPath:)) {
            return "running as root without runuser; skipping PostgreSQL tests"
        }
        return nil
    }

    init(binaries: URL) throws {
        self.binaries = binaries
        asPostgresUser = getuid() == 0
        folder = URL(fileURLWithPath: "/tmp").appendingPathComponent("pg-\(UUID().uuidString.prefix(8))")
        port = Fixtures.unusedPort()
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        if asPostgresUser { try FileManager.default.setAttributes([.ownerAccountName: "postgres"], ofItemAtPath: folder.path) }
    }

    /// Addresses the server listens on besides loopback (clients there are trusted too).
    var extraAddresses: [String] = []

    /// A running cluster, or nil where PostgreSQL is unavailable. `alsoListenOn`: further addresses
    /// (with their /24 network trusted), for clients in another network namespace.
    public static func start(alsoListenOn addresses: [String] = []) throws -> PostgresCluster? {
        guard unavailableReason == nil, let binaries = findBinaries() else { return nil }
        let cluster = try PostgresCluster(binaries: binaries)
        cluster.extraAddresses = addresses
        try cluster.run("initdb", ["-D", cluster.data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"])
        if !addresses.isEmpty {
            let hba = URL(fileURLWithPath: cluster.data).appendingPathComponent("pg_hba.conf")
            let lines = addresses.map { "host all all \($0.split(separator: ".").prefix(3).joined(separator: ".")).0/24 trust\n" }.joined()
            let handle = try FileHandle(forWritingTo: hba)
            handle.seekToEndOfFile()
            handle.write(Data(lines.utf8))
            try handle.close()
        }
        try cluster.startServer()
        return cluster
    }

    var data: String { folder.appendingPathComponent("data").path }

    func run(_ program: String, _ arguments: [String]) throws {
        let path = binaries.appendingPathComponent(program).path
        let command = asPostgresUser ? ["runuser", "-u", "postgres", "--", path] + arguments : [path] + arguments
        let status = try DaemonLauncher.run(command)
        guard status == 0 else {
            let log = (try? String(contentsOf: folder.appendingPathComponent("log"), encoding: .utf8)) ?? ""
            throw Fixtures.FixtureError.missing("\(program) \(arguments.joined(separator: " ")) exited \(status)\n\(log.suffix(2000))")
        }
    }

    func startServer() throws {
        try run("pg_ctl", ["-D", data, "-l", folder.appendingPathComponent("log").path, "-w", "-o",
                           "-c listen_addresses=\((["127.0.0.1"] + extraAddresses).joined(separator: ",")) -p \(port) -k \(folder.path) -c fsync=off", "start"])
    }

    /// Stops the server at once (`-m immediate`: like a crash, no checkpoint) and starts it again after
    /// `downSeconds`.
    public func crashAndRestart(downSeconds: Double) throws {
        try run("pg_ctl", ["-D", data, "-w", "stop", "-m", "immediate"])
        Thread.sleep(forTimeInterval: downSeconds)
        try startServer()
    }

    public func stop() {
        try? run("pg_ctl", ["-D", data, "-w", "stop", "-m", "fast"])
        try? FileManager.default.removeItem(at: folder)
    }
}
