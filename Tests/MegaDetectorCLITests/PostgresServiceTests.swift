import Foundation
import ResultsFormat
import Testing
import TestSupport

/// The service on PostgreSQL, as it runs across machines: `serve` accepting jobs, three separate
/// `worker` processes doing them, and the database and the service crashing mid-job. The job must
/// still complete with every photo exactly once and results equal to `detect`'s.
@Suite(.serialized, .requires(.postgres))
struct PostgresServiceTests {
    @Test func workersFinishAJobThroughADatabaseCrash() async throws {
        let cluster = try #require(try PostgresCluster.start())
        defer { cluster.stop() }
        // The real camera-trap photos of ../shared/images where present, else the fixture photos.
        let shared = Fixtures.shared?.appendingPathComponent("images").resolvingSymlinksInPath().path
        let folder = shared ?? ServeCommandTests.photos
        let options = ["--workers", "0", "--shard-size", "6"] + (shared.map { ["--root", $0] } ?? [])
        let first = try ServeCommandTests.Server(extra: options, database: cluster.url)
        try await first.waitUntilUp()
        // Workers first, all connected, so that the job is still running when the database goes down.
        // Their commits wait behind a gate file until the database has been restarted: else the tiny
        // model could finish all 45 photos before the status request below (it did, on a loaded machine).
        let gate = first.folder.appendingPathComponent("commit-gate")
        FileManager.default.createFile(atPath: gate.path, contents: nil)
        let workers = try (0..<3).map {
            try WorkerCommandTests.Worker(database: cluster.url, folder: first.folder, name: "pg-\($0)", leaseSeconds: 20, slow: false,
                                          commitGate: gate)
        }
        for worker in workers { try await worker.waitForLog("working on") }
        let (status, created, _) = try await first.request("POST", "/v1/jobs", body: "{\"folder\": \"\(folder)\", \"request_name\": \"on postgres\"}")
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        let total = try #require(created?.object?["photos"]?.number)
        // Down for two seconds right after submission, while the workers claim and commit: claims and
        // commits wait for the database or are retried. The crash lands mid-job: the job is still
        // waiting or running, with photos left, just before it. (Checking after the restart instead was a race: the
        // workers reconnect and may finish the job before the server's pool answers.)
        #expect(total > 10)
        let beforeCrash = try await first.request("GET", "/v1/jobs/\(id)").1?.object
        #expect(["created", "running"].contains(beforeCrash?["status"]?.string), "job before the database crash: \(String(describing: beforeCrash))")
        #expect((beforeCrash?["photos_done"]?.number ?? total) < total, "the job was done before the database crash")
        try cluster.crashAndRestart(downSeconds: 2)
        try FileManager.default.removeItem(at: gate)
        // And the service itself is killed outright and started again on the same database.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let server = try ServeCommandTests.Server(extra: options, reusing: first)
        try await server.waitUntilUp()
        let finished = try await server.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == total)
        for worker in workers { #expect(try await worker.signalAndWait(SIGTERM) == 0) }

        let served = try await server.expectResultsEqualDetect(job: id, folder: folder, recursive: true)
        #expect(served.images.count == Int(total) && served.images.count > 10)
    }

    /// A worker on another "machine" (a network namespace) is cut off from the database mid-shard:
    /// its lease runs out, a healthy worker redoes the shard with a new token and finishes the job,
    /// and when the network comes back the cut-off worker's stale claim is refused by the token.
    @Test(.requires(.networkNamespaces)) func workerCutOffFromTheDatabaseCannotCommitLate() async throws {
        let namespace = try #require(NetworkNamespace.create(), "a network namespace could not be made")
        defer { namespace.destroy() }
        let cluster = try #require(try PostgresCluster.start(alsoListenOn: [namespace.hostAddress]))
        defer { cluster.stop() }
        let server = try ServeCommandTests.Server(extra: ["--workers", "0"], database: cluster.url)
        try await server.waitUntilUp()
        let (_, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": "."}"#)
        let id = try #require(created?.object?["id"]?.string)

        let remote = "postgres://postgres@\(namespace.hostAddress):\(cluster.port)/postgres"
        let cutOff = try WorkerCommandTests.Worker(database: remote, folder: server.folder, name: "cut-off", leaseSeconds: 3, slow: true,
                                                   namespace: namespace)
        try await cutOff.waitForLog("shard=0 token=1 worker=cut-off [BatchService] claimed")
        namespace.cut()
        try await Task.sleep(nanoseconds: 4_000_000_000)  // past the 3 s lease
        let healthy = try WorkerCommandTests.Worker(database: cluster.url, folder: server.folder, name: "healthy", leaseSeconds: 60, slow: false)
        let finished = try await server.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == created?.object?["photos"]?.number)
        namespace.restore()
        try await cutOff.waitForLog("shard=0 token=1 worker=cut-off [BatchService] lease lost", seconds: 120)
        #expect(healthy.text.contains("shard=0 token=2 worker=healthy [BatchService] claimed"), "\(healthy.text)")
        _ = try await cutOff.signalAndWait(SIGTERM)
        _ = try await healthy.signalAndWait(SIGTERM)

        try await server.expectResultsEqualDetect(job: id)
    }

    @Test func unreachableDatabaseIsAClearError() throws {
        let result = try Fixtures.runCLI(["worker", "--database", "postgres://nobody:secret@127.0.0.1:1/jobs", "--exit-when-idle"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("cannot open the job database postgres://nobody:***@127.0.0.1:1/jobs: no answer"), "\(result.stderr)")
        #expect(!result.stderr.contains("secret"))
    }
}
