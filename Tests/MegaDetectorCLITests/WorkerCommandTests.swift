import Foundation
import ResultsFormat
import Testing
import TestSupport

/// Separate `megadetector worker` processes on the service's database, with the faults a cluster
/// sees: a worker killed with SIGKILL mid-shard (its lease must expire and another worker redo the
/// shard) and a worker stopped with SIGTERM (it must hand its shard back and exit cleanly). The job
/// must still end with every photo exactly once and results equal to `detect`'s.
@Suite(.serialized) struct WorkerCommandTests {
    final class Worker {
        let process = Process()
        let log: URL

        /// `slow` uses the plain-Swift reference backend, seconds per photo, so a shard is still in
        /// progress when the test interrupts it.
        /// `namespace`: run the worker inside that network namespace (another "machine").
        /// `commitGate`: commits wait while this file exists (MEGADETECTOR_TEST_COMMIT_GATE).
        init(database: String, folder: URL, name: String, leaseSeconds: Double, slow: Bool, namespace: NetworkNamespace? = nil,
             commitGate: URL? = nil) throws {
            log = folder.appendingPathComponent("\(name).log")
            FileManager.default.createFile(atPath: log.path, contents: nil)
            let arguments = ["worker", "--database", database, "--name", name, "--lease-seconds", "\(leaseSeconds)"]
                + (slow ? ["--backend", "reference", "--threads", "1"] : [])
                // The whole test suite on two cores can keep a new connection waiting.
                + (database.hasPrefix("postgres") ? ["--database-start-timeout", "180"] : [])
            if let namespace {
                (process.executableURL, process.arguments) = namespace.exec([Fixtures.cli.path] + arguments)
            } else {
                process.executableURL = Fixtures.cli
                process.arguments = arguments
            }
            if let commitGate {
                process.environment = ProcessInfo.processInfo.environment.merging(["MEGADETECTOR_TEST_COMMIT_GATE": commitGate.path]) { $1 }
            }
            process.standardError = try FileHandle(forWritingTo: log)
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
        }

        var text: String { (try? String(contentsOf: log, encoding: .utf8)) ?? "" }

        func waitForLog(_ fragment: String, seconds: Double = 180) async throws {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                if text.contains(fragment) { return }
                try await Task.sleep(nanoseconds: 50_000_000)
            }
            Issue.record("worker log never showed '\(fragment)': \(text)")
        }

        /// Up to five minutes: SIGTERM stops at a photo boundary, and a photo on the plain-Swift backend
        /// can take that long while the whole suite shares two cores.
        func signalAndWait(_ number: Int32, seconds: Double = 300) async throws -> Int32 {
            kill(process.processIdentifier, number)
            let deadline = Date().addingTimeInterval(seconds)
            while process.isRunning && Date() < deadline { try await Task.sleep(nanoseconds: 50_000_000) }
            #expect(!process.isRunning, "the worker did not exit after signal \(number)")
            if process.isRunning { process.terminate() }
            process.waitUntilExit()
            return process.terminationStatus
        }
    }

    @Test func killedAndStoppedWorkersLoseNothingAndDuplicateNothing() async throws {
        let server = try ServeCommandTests.Server(extra: ["--workers", "0"])
        try await server.waitUntilUp()
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": "."}"#)
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        let total = try #require(created?.object?["photos"]?.number)

        // SIGKILL mid-shard: nothing is committed, and the lease (3 s) must run out before anyone redoes it.
        let killed = try Worker(database: server.database, folder: server.folder, name: "killed", leaseSeconds: 3, slow: true)
        try await killed.waitForLog("shard=0 token=1 worker=killed [BatchService] claimed")
        try await Task.sleep(nanoseconds: 300_000_000)
        #expect(try await killed.signalAndWait(SIGKILL) == SIGKILL)
        #expect(try await server.request("GET", "/v1/jobs/\(id)").1?.object?["photos_done"]?.number == 0)

        // SIGTERM mid-shard: the worker stops at a photo boundary, hands its shard back and exits 0.
        let stopped = try Worker(database: server.database, folder: server.folder, name: "stopped", leaseSeconds: 60, slow: true)
        try await stopped.waitForLog("worker=stopped [BatchService] claimed")
        #expect(try await stopped.signalAndWait(SIGTERM) == 0)
        // Usually shard 1 (shard 0 is still leased to the dead worker); on a loaded machine the dead
        // worker's lease may already have expired and shard 0 is retaken here instead.
        let released = try #require(stopped.text.split(separator: "\n").last { $0.contains("[BatchService] not committed") })
        let releasedShard = try #require(released.split(separator: " ").first { $0.hasPrefix("shard=") })
        let releasedToken = try #require(released.split(separator: " ").first { $0.hasPrefix("token=") }.flatMap { Int($0.dropFirst(6)) })

        // A healthy worker finishes the job, taking over both interrupted shards with a new token.
        let healthy = try Worker(database: server.database, folder: server.folder, name: "healthy", leaseSeconds: 60, slow: false)
        let finished = try await server.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == total)
        #expect(try await healthy.signalAndWait(SIGTERM) == 0)
        #expect((healthy.text + stopped.text).contains("shard=0 token=2 "), "the killed worker's shard was retaken with a new token")
        #expect(healthy.text.contains("\(releasedShard) token=\(releasedToken + 1) worker=healthy [BatchService] claimed 4 photos"),
                "the handed-back shard was retaken: \(healthy.text)")

        try await server.expectResultsEqualDetect(job: id)
    }

    /// The Slurm array script, run as two array tasks would run it (same environment variables, no
    /// scheduler): both drain the job and exit, and the job has every photo exactly once.
    @Test func slurmArrayScriptDrainsTheJob() async throws {
        let server = try ServeCommandTests.Server(extra: ["--workers", "0"])
        try await server.waitUntilUp()
        let (_, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": "."}"#)
        let id = try #require(created?.object?["id"]?.string)
        let script = Fixtures.repositoryRoot.appendingPathComponent("deploy/slurm/megadetector-workers.sbatch").path
        let tasks = try (0..<2).map { task -> Process in
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/bin/bash")
            process.arguments = [script]
            process.environment = ProcessInfo.processInfo.environment.merging([
                "MEGADETECTOR_DATABASE": server.database, "MEGADETECTOR_BIN": Fixtures.cli.path,
                "SLURM_ARRAY_JOB_ID": "77", "SLURM_ARRAY_TASK_ID": "\(task)", "SLURM_CPUS_PER_TASK": "1",
            ]) { $1 }
            process.standardError = FileHandle(forWritingAtPath: "/dev/null")
            process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
            try process.run()
            return process
        }
        for task in tasks { task.waitUntilExit() }
        #expect(tasks.allSatisfy { $0.terminationStatus == 0 })
        let summary = try await server.request("GET", "/v1/jobs/\(id)").1?.object
        #expect(summary?["status"]?.string == "completed")
        let (_, results, _) = try await server.request("GET", "/v1/jobs/\(id)/results")
        let files = results?.object?["images"]?.array?.compactMap { $0.object?["file"]?.string } ?? []
        #expect(files.count == Int(summary?["photos"]?.number ?? -1) && Set(files).count == files.count)
    }
}
