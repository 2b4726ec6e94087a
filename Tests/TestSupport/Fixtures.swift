import Engine
import Foundation

/// Locations of committed fixtures, the shared folder and the built CLI, found from this file's path.
public enum Fixtures {
    public static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    public static let engine = repositoryRoot.appendingPathComponent("Tests/Fixtures/engine")
    /// `../shared` next to the repository; nil (tests skip) when it is absent.
    public static let shared: URL? = {
        let url = repositoryRoot.deletingLastPathComponent().appendingPathComponent("shared")
        return FileManager.default.fileExists(atPath: url.appendingPathComponent("images").path) ? url : nil
    }()

    public static func enginePath(_ name: String) -> String { engine.appendingPathComponent(name).path }

    /// The engine fixtures' manifest (shapes and file names written by the generator).
    nonisolated(unsafe) public static let manifest: [String: Any] = {  // read-only after first use
        let data = (try? Data(contentsOf: engine.appendingPathComponent("manifest.json"))) ?? Data()
        return ((try? JSONSerialization.jsonObject(with: data)) as? [String: Any]) ?? [:]
    }()

    public static func model(_ name: String) -> [String: Any] {
        ((manifest["models"] as? [String: Any])?[name] as? [String: Any]) ?? [:]
    }

    /// Reads a raw array the generator wrote (`{"file", "shape", "dtype"}` entry of the manifest).
    public static func array(_ entry: Any?, scale: Float = 1) throws -> Tensor {
        guard let entry = entry as? [String: Any], let file = entry["file"] as? String, let shape = entry["shape"] as? [Int],
              let dtype = entry["dtype"] as? String else {
            throw FixtureError.missing("manifest entry \(String(describing: entry))")
        }
        let data = try Data(contentsOf: engine.appendingPathComponent(file))
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

    /// Runs the CLI; returns exit status, stdout and stderr.
    public static func runCLI(_ arguments: [String], environment: [String: String] = [:]) throws
        -> (status: Int32, stdout: String, stderr: String) {
        let process = Process()
        process.executableURL = cli
        process.arguments = arguments
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

    public enum FixtureError: Error { case missing(String) }
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
