import Foundation
import ResultsFormat
import Testing
import TestSupport

/// The Slurm array script on a real (one-node) Slurm cluster: `sbatch --array` runs workers as
/// array tasks until no shard is waiting; the job ends with every photo once and `detect`'s results.
@Suite(.serialized, .requires(.slurm))
struct SlurmClusterTests {
    @Test func sbatchArrayDrainsTheJob() async throws {
        let cluster = try #require(try SlurmCluster.start())
        defer { cluster.stop() }
        let server = try ServeCommandTests.Server(extra: ["--workers", "0"])
        try await server.waitUntilUp()
        let (_, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": "."}"#)
        let id = try #require(created?.object?["id"]?.string)

        let script = Fixtures.repositoryRoot.appendingPathComponent("deploy/slurm/megadetector-workers.sbatch").path
        let submitted = try cluster.command([
            "sbatch", "--array=0-2", "--cpus-per-task=1", "--output=\(server.folder.path)/slurm-%A_%a.log",
            "--export=ALL,MEGADETECTOR_DATABASE=\(server.database),MEGADETECTOR_BIN=\(Fixtures.cli.path)", script,
        ])
        #expect(submitted.status == 0, "\(submitted.output)")
        let slurmJob = try #require(submitted.output.split(separator: " ").last.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) })

        let finished = try await server.waitFor(job: id, status: "completed")
        #expect(finished?.object?["photos_done"]?.number == created?.object?["photos"]?.number)
        // The array tasks exit on their own once the queue is empty.
        var remaining = "?"
        for _ in 0..<300 {
            remaining = try cluster.command(["squeue", "-h", "-j", slurmJob]).output.trimmingCharacters(in: .whitespacesAndNewlines)
            if remaining.isEmpty { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        #expect(remaining.isEmpty, "array tasks still queued or running: \(remaining)")
        let logs = try FileManager.default.contentsOfDirectory(atPath: server.folder.path).filter { $0.hasPrefix("slurm-\(slurmJob)_") }
        #expect(logs.count == 3, "one log per array task: \(logs)")

        try await server.expectResultsEqualDetect(job: id)
    }
}
