import Engine
import Foundation

/// Locations of committed fixtures, the shared folder and the built CLI, found from this file's path.
public enum Fixtures {
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let engine = repositoryRoot.appendingPathComponent("Tests/Fixtures/engine")
    /// Where `../shared` is looked for: next to the repository.
    public static let sharedLocation = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
    /// `../shared` next to the repository; nil when it is absent (tests that need it carry
    /// `.requires(.shared)` and read it through `requireShared()`).
    public static let shared: URL? = {
        FileManager.default.fileExists(atPath: sharedLocation.appendingPathComponent("images").path) ? sharedLocation : nil
    }()

    /// `../shared`, or an error naming it (reached only where `.requires(.shared)` let the test run).
    public static func requireShared() throws -> URL {
        guard let shared else { throw FixtureError.missing("\(sharedLocation.path) (../shared)") }
        return shared
    }

    /// The full path of a program on PATH, or nil.
    public static func executable(named name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Reads a JSON fixture that must exist and parse to an object: a missing or corrupt fixture
    /// fails the test that reads it (it never turns into an empty case list).
    public static func jsonObject(at url: URL) throws -> [String: Any] {
        let data: Data
        do { data = try Data(contentsOf: url) } catch { throw FixtureError.missing("\(url.path) cannot be read") }
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw FixtureError.missing("\(url.path) is not a JSON object")
        }
        return object
    }

    /// The sorted keys of a fixture's case table; throws when the table is absent or empty, so a
    /// parameterised test never runs zero cases and passes.
    public static func caseNames(_ table: Any?, in fixture: String) throws -> [String] {
        guard let table = table as? [String: Any], !table.isEmpty else {
            throw FixtureError.missing("\(fixture) has no cases")
        }
        return table.keys.sorted()
    }

    public static func enginePath(_ name: String) -> String { engine.appendingPathComponent(name).path }

    /// The engine fixtures' manifest (shapes and file names written by the generator); throws when
    /// it is missing or corrupt, so every test that reads it fails rather than checking nothing.
    public static func manifest() throws -> [String: Any] { try manifestContents.get() }

    nonisolated(unsafe) private static let manifestContents: Result<[String: Any], Error> =  // read-only after first use
        Result { try jsonObject(at: engine.appendingPathComponent("manifest.json")) }

    /// One model's manifest entry; throws naming the model when the manifest lacks it.
    public static func model(_ name: String) throws -> [String: Any] {
        guard let entry = (try manifest()["models"] as? [String: Any])?[name] as? [String: Any] else {
            throw FixtureError.missing("manifest.json has no model \(name)")
        }
        return entry
    }

    /// Reads a raw array the generator wrote (`{"file", "shape", "dtype"}` entry of the manifest).
    public static func array(_ entry: Any?, scale: Float = 1, in folder: URL = engine) throws -> Tensor {
        guard let entry = entry as? [String: Any], let file = entry["file"] as? String, let shape = entry["shape"] as? [Int],
              let dtype = entry["dtype"] as? String else {
            throw FixtureError.missing("manifest entry \(String(describing: entry))")
        }
        let data = try Data(contentsOf: folder.appendingPathComponent(file))
        let count = shape.reduce(1, *)
        let values: [Float]
        if dtype == "uint8" {
            guard data.count == count else { throw FixtureError.missing("\(file) has \(data.count) bytes") }
            values = data.map { Float($0) * scale }
        } else {
            guard data.count == count * 4 else { throw FixtureError.missing("\(file) has \(data.count) bytes") }
            values = data.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        }
        return Tensor(shape: shape, values: values)
    }

    /// The `megadetector` executable built next to the test bundle.
    public static var cli: URL {
        let candidates = [
            URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("megadetector"),
            repositoryRoot.appendingPathComponent(".build/debug/megadetector"),
        ]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0.path) } ?? candidates[1]
    }

    /// A TCP port on 127.0.0.1 that nothing listens on now, below the kernel's ephemeral range
    /// (32768 and up on Linux): a random port there could be taken, between choosing and binding, by
    /// one of the many outgoing connections the suite makes, which made servers fail to start.
    public static func unusedPort() -> Int {
        while true {
            let port = Int.random(in: 20_000..<32_000)
            let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            guard descriptor >= 0 else { return port }
            defer { close(descriptor) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let bound = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            if bound == 0 { return port }
        }
    }

    /// Runs blocking work (polling a file, waiting for a process) on a thread of its own and awaits it,
    /// so that it neither blocks one of the few cooperative threads nor waits for one to be free.
    public static func onOwnThread<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    /// Runs the CLI; returns exit status, stdout and stderr.
    public static func runCLI(_ arguments: [String], environment: [String: String] = [:], directory: URL? = nil) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = cli
        process.arguments = arguments
        if let directory { process.currentDirectoryURL = directory }
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// Runs another program (a helper script) and returns its exit status and its stdout and stderr
    /// together.
    public static func runTool(_ executable: String, _ arguments: [String],
                               environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, text)
    }

    public enum FixtureError: Error, CustomStringConvertible {
        case missing(String)
        public var description: String {
            switch self { case let .missing(what): "fixture missing or unusable: \(what)" }
        }
    }
}

/// Deterministic pseudo-random tensors for op tests.
public struct SeededGenerator {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> Float {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Float(Int32(truncatingIfNeeded: state >> 33)) / Float(Int32.max)
    }
    public mutating func tensor(_ shape: [Int], scale: Float = 1) -> Tensor {
        Tensor(shape: shape, values: (0..<shape.reduce(1, *)).map { _ in next() * scale })
    }
}
