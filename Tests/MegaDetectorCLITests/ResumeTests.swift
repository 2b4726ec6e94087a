import Foundation
import ResultsFormat
import Testing
import TestSupport

/// A run killed at any point (including in the middle of a checkpoint write) and resumed ends with
/// exactly the file an uninterrupted run writes: nothing lost, nothing duplicated.
@Suite(.serialized)
struct ResumeTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-resume-\(UUID().uuidString)")
    static let model = DetectCommandTests.model
    static var input: String {
        Fixtures.shared?.appendingPathComponent("images").path ?? DetectCommandTests.fixtures.appendingPathComponent("synthetic").path
    }

    func arguments(output: String, checkpoint: String, resume: Bool) -> [String] {
        ["detect", Self.model, Self.input, output, "--recursive", "--output-relative-filenames", "--include-image-size",
         "--checkpoint-frequency", "1", "--checkpoint-path", checkpoint, "--quiet"] + (resume ? ["--resume-from-checkpoint", checkpoint] : [])
    }

    func start(_ arguments: [String], environment: [String: String] = [:]) throws -> Process {
        let process = Process()
        process.executableURL = Fixtures.cli
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    /// Entries in the checkpoint now (0 when absent); the file is always complete JSON or absent.
    static func checkpointCount(_ path: String) throws -> Int {
        guard FileManager.default.fileExists(atPath: path) else { return 0 }
        let value = try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path))))
        return value.object?["checkpoint"]?.array?.count ?? 0
    }

    /// Polls `condition` and, the moment it holds, sends `signal` to `process`, all on a thread of its
    /// own: a run of the test model takes seconds, so a poll left to the cooperative pool (starved by
    /// the rest of the suite on two cores) saw the run finish before the kill. Up to five minutes; the
    /// conditions also end when the process exits, so the limit only matters when something is wrong.
    func signal(_ signal: Int32, to process: Process, timeout: Double = 300,
                when condition: @escaping @Sendable () throws -> Bool) async throws {
        let pid = process.processIdentifier
        try await Fixtures.onOwnThread {
            let deadline = Date().addingTimeInterval(timeout)
            while try !condition() {
                guard Date() < deadline else { throw Fixtures.FixtureError.missing("condition not reached in \(timeout) s") }
                Thread.sleep(forTimeInterval: 0.005)
            }
            kill(pid, signal)
        }
    }

    func baseline() throws -> ResultsFile {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("baseline.json").path
        let result = try Fixtures.runCLI(arguments(output: output, checkpoint: folder.appendingPathComponent("b.ckpt.json").path, resume: false))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: folder.appendingPathComponent("b.ckpt.json").path), "checkpoint left behind")
        return try ResultsFile.read(path: output)
    }

    func expectSameImages(_ output: String, _ expected: ResultsFile) throws {
        let actual = try ResultsFile.read(path: output)
        #expect(actual.images.count == expected.images.count)
        #expect(Set(actual.images.map(\.file)).count == actual.images.count, "duplicated entries")
        #expect(actual.images == expected.images)
    }

    @Test func sigkillAtSeveralPointsThenResume() async throws {
        let expected = try baseline()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("killed.json").path
        let checkpoint = folder.appendingPathComponent("killed.ckpt.json").path
        let stops = [3, 11, 23]
        try #require(expected.images.count > stops.last!, "the input is too small to be killed at every stop")
        for (round, stopAt) in stops.enumerated() {
            let process = try start(arguments(output: output, checkpoint: checkpoint, resume: round > 0))
            try await signal(SIGKILL, to: process) { try Self.checkpointCount(checkpoint) >= stopAt || !process.isRunning }
            process.waitUntilExit()
            // The kill landed mid-run: the process died of SIGKILL (it had not finished or failed).
            #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL,
                    "round \(round): the run ended before the kill (status \(process.terminationStatus))")
            #expect(try Self.checkpointCount(checkpoint) >= stopAt, "a checkpoint lost work")
        }
        #expect(!FileManager.default.fileExists(atPath: output), "a killed run wrote the final file")
        let finish = try Fixtures.runCLI(arguments(output: output, checkpoint: checkpoint, resume: true))
        #expect(finish.status == 0, "\(finish.stderr)")
        try expectSameImages(output, expected)
        #expect(!FileManager.default.fileExists(atPath: checkpoint))
    }

    @Test func sigkillDuringACheckpointWrite() async throws {
        let expected = try baseline()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("midwrite.json").path
        let checkpoint = folder.appendingPathComponent("midwrite.ckpt.json").path
        // The hook sleeps between writing the temporary checkpoint and renaming it over the old one.
        let process = try start(arguments(output: output, checkpoint: checkpoint, resume: false),
                                environment: ["MEGADETECTOR_TEST_CHECKPOINT_RENAME_DELAY": "0.3"])
        let folder = self.folder
        // From the third write on, while a temporary checkpoint waits to be renamed.
        try await signal(SIGKILL, to: process) {
            guard try Self.checkpointCount(checkpoint) >= 2 else { return false }
            let names = try FileManager.default.contentsOfDirectory(atPath: folder.path)
            return names.contains { $0.hasPrefix(".midwrite.ckpt.json.") && $0.hasSuffix(".tmp") }
        }
        process.waitUntilExit()
        #expect(process.terminationReason == .uncaughtSignal && process.terminationStatus == SIGKILL, "the run ended before the kill")
        #expect(try Self.checkpointCount(checkpoint) >= 2, "the previous checkpoint did not survive")
        let finish = try Fixtures.runCLI(arguments(output: output, checkpoint: checkpoint, resume: true))
        #expect(finish.status == 0, "\(finish.stderr)")
        try expectSameImages(output, expected)
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".tmp") }
        #expect(leftovers.isEmpty, "the killed writer's temporary file was not cleaned up: \(leftovers)")
    }

    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func signalWritesACheckpointAndPrintsTheResumeCommand(_ signal: Int32, _ status: Int32) async throws {
        let expected = try baseline()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("interrupted.json").path
        let checkpoint = folder.appendingPathComponent("interrupted.ckpt.json").path
        let process = Process()
        process.executableURL = Fixtures.cli
        process.arguments = arguments(output: output, checkpoint: checkpoint, resume: false)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        try await self.signal(signal, to: process) { try Self.checkpointCount(checkpoint) >= 2 }
        let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == status)
        #expect(message.contains("Resume with: "))
        #expect(message.contains("--resume-from-checkpoint \(checkpoint)"))
        #expect(try Self.checkpointCount(checkpoint) >= 2)
        let finish = try Fixtures.runCLI(arguments(output: output, checkpoint: checkpoint, resume: true))
        #expect(finish.status == 0, "\(finish.stderr)")
        try expectSameImages(output, expected)
    }

    /// `--resume-from-checkpoint auto` finds the newest `md_checkpoint_*.json` next to the output, in the
    /// reference's shape (absolute paths, a failure entry, the older `images` key also read), reuses its
    /// entries as they are and runs only the rest; "Finished inference" counts them all, as the reference.
    @Test(arguments: ["checkpoint", "images"]) func autoResumesFromAReferenceShapedCheckpoint(_ key: String) throws {
        let expected = try baseline()
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = folder.appendingPathComponent("auto-\(key)")
        try FileManager.default.createDirectory(at: run, withIntermediateDirectories: true)
        let output = run.appendingPathComponent("results.json").path
        // The reference writes absolute paths; the first entry becomes a failure to prove it is reused.
        var entries = expected.images.prefix(4).map { image -> JSONValue in
            var object = image.json.object ?? JSONObject()
            object["file"] = .string((Self.input as NSString).appendingPathComponent(image.file))
            return .object(object)
        }
        var first = entries[0].object ?? JSONObject()
        first["failure"] = .string("image access failure")
        first["detections"] = .null
        entries[0] = .object(first)
        let checkpoint = run.appendingPathComponent("md_checkpoint_20260101000000.json")
        try Data(JSONWriter.serialize(.object(JSONObject([(key, .array(entries))]))).utf8).write(to: checkpoint)
        let resumed = try Fixtures.runCLI(["detect", Self.model, Self.input, output, "--recursive", "--output-relative-filenames",
                                           "--include-image-size", "--resume-from-checkpoint", "auto"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("Resuming from checkpoint \(checkpoint.path)"), "\(resumed.stderr)")
        #expect(resumed.stdout.contains("Finished inference for \(expected.images.count) images"), "\(resumed.stdout)")
        let actual = try ResultsFile.read(path: output)
        #expect(actual.images.count == expected.images.count)
        #expect(actual.images.first { $0.file == expected.images[0].file }?.failure == "image access failure", "the checkpoint's entry was reused")
        // Every other entry was detected afresh and equals the baseline.
        try #require(expected.images.count >= 2)
        #expect(actual.images.filter { $0.file != expected.images[0].file } == Array(expected.images.dropFirst()))
    }

    /// `--previous-results`: entries of an earlier results file are reused as they are, the rest detected.
    @Test func previousResultsAreReused() throws {
        let expected = try baseline()
        defer { try? FileManager.default.removeItem(at: folder) }
        var previous = expected
        previous.images = Array(expected.images.prefix(3))
        previous.images[0].detections = []
        let previousPath = folder.appendingPathComponent("previous.json").path
        try previous.write(to: previousPath)
        let output = folder.appendingPathComponent("with-previous.json").path
        let run = try Fixtures.runCLI(["detect", Self.model, Self.input, output, "--recursive", "--output-relative-filenames",
                                       "--include-image-size", "--previous-results", previousPath, "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let actual = try ResultsFile.read(path: output)
        #expect(actual.images.count == expected.images.count)
        #expect(actual.images.first { $0.file == expected.images[0].file }?.detections == [], "the previous entry was reused")
        #expect(Array(actual.images.dropFirst()) == Array(expected.images.dropFirst()))
    }
}
