import BatchService
import Foundation
import Logging
import ResultsFormat
import Testing
import TestSupport

/// Which job store a test runs on: every guarantee is checked on both.
enum StoreBackend: String, CaseIterable, Sendable {
    case sqlite, postgres

    /// PostgreSQL where a server can be started here, and always under CI (where a missing server
    /// fails the PostgreSQL cases). Elsewhere `postgresCasesRun` reports the dropped cases as skipped.
    static let available: [StoreBackend] = {
        PostgresCluster.unavailableReason == nil || Requirement.isCI ? allCases : [.sqlite]
    }()

    /// Runs `body` on a new, empty store of this kind (a throwaway cluster for PostgreSQL).
    func withStore(_ body: (any JobStore, PostgresCluster?) async throws -> Void) async throws {
        switch self {
        case .sqlite:
            try await body(try SQLiteJobStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("jobs-\(UUID().uuidString).sqlite").path), nil)
        case .postgres:
            let cluster = try #require(try PostgresCluster.start())
            defer { cluster.stop() }
            // A generous start-up wait: tests running in parallel on two cores can starve this one for a while.
            try await JobStoreConnection.withStore(cluster.url, logger: Logger(label: "test"), startTimeoutSeconds: 180) { try await body($0, cluster) }
        }
    }
}

/// The job store's guarantees that keep a distributed run exact: every photo is committed once, by
/// the current holder of its shard only, and nothing is written for a canceled job.
struct JobStoreTests {
    /// Leases no test waits out: expiry is forced with a negative renewal where a test needs it. (A
    /// short lease expired by itself when the whole suite starved these async tests on two cores.)
    static let unexpiringLease: Double = 3600

    static func results(_ claim: ShardClaim) -> [(index: Int, json: String)] {
        claim.photos.map { (index: $0.index, json: "{\"file\": \"\($0.path)\", \"detections\": []}") }
    }

    /// The parameterised tests below run on PostgreSQL too wherever it can be started: this test is
    /// reported as skipped, naming PostgreSQL, where it cannot, so the dropped cases are visible.
    @Test(.requires(.postgres)) func postgresCasesRun() {
        #expect(StoreBackend.available.contains(.postgres))
    }

    @Test(arguments: StoreBackend.available) func shardsCoverEveryPhotoOnceInOrder(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let photos = (0..<7).map { "/photos/\($0).jpg" }
            let id = try await store.createJob(name: "t", model: "m", threshold: 0.1, photos: photos, shardSize: 3)
            var seen: [String] = []
            while let claim = try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease) {
                seen += claim.photos.map(\.path)
                #expect(try await store.complete(claim, results: Self.results(claim)))
            }
            #expect(seen == photos)
            let summary = try #require(try await store.summary(id))
            #expect(summary.status == .completed && summary.shards == 3 && summary.done == 7 && summary.failed == 0)
            #expect(try await store.results(id).map(\.path) == photos)
        }
    }

    @Test(arguments: StoreBackend.available) func staleHolderCannotCommitAfterItsLeaseIsTakenOver(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let id = try await store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg"], shardSize: 2)
            let slow = try #require(try await store.claim(worker: "slow", leaseSeconds: JobStoreTests.unexpiringLease))
            #expect(try await store.claim(worker: "other", leaseSeconds: JobStoreTests.unexpiringLease) == nil, "a live lease is not handed out twice")
            // Its lease runs out (a negative renewal expires it now, without waiting on a loaded machine).
            #expect(try await store.heartbeat(slow, leaseSeconds: -1))
            let fresh = try #require(try await store.claim(worker: "fresh", leaseSeconds: JobStoreTests.unexpiringLease))
            #expect(fresh.shard == slow.shard && fresh.token == slow.token + 1)
            #expect(try await store.heartbeat(slow, leaseSeconds: JobStoreTests.unexpiringLease) == false)
            #expect(try await store.complete(slow, results: [(0, "{\"file\": \"stale\"}")]) == false)
            #expect(try await store.complete(fresh, results: Self.results(fresh)))
            #expect(try await store.results(id).map { $0.json?.contains("stale") } == [false, false])
            #expect(try await store.summary(id)?.status == .completed)
        }
    }

    @Test(arguments: StoreBackend.available) func canceledJobAcceptsNoResultsAndHandsOutNoShards(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let id = try await store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg"], shardSize: 1)
            let claim = try #require(try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease))
            #expect(try await store.cancel(id))
            #expect(try await store.heartbeat(claim, leaseSeconds: JobStoreTests.unexpiringLease) == false)
            #expect(try await store.complete(claim, results: Self.results(claim)) == false)
            #expect(try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease) == nil)
            let summary = try await store.summary(id)
            #expect(summary?.status == .canceled && summary?.done == 0)
            #expect(try await store.cancel(id) == false, "canceling twice changes nothing")
        }
    }

    @Test func sqliteJobsSurviveReopeningTheDatabase() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-\(UUID().uuidString).sqlite").path
        let id = try await SQLiteJobStore(path: path).createJob(name: "kept", model: "m", threshold: 0.2, photos: ["/a.jpg"], shardSize: 10)
        let reopened = try SQLiteJobStore(path: path)
        #expect(try reopened.summary(id)?.name == "kept")
        #expect(try reopened.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease)?.photos.map(\.path) == ["/a.jpg"])
    }

    /// Progress counters come from committed shards only: a refused stale commit adds nothing.
    @Test(arguments: StoreBackend.available) func countersFollowCommittedShards(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let id = try await store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg", "/c.jpg"], shardSize: 2)
            let first = try #require(try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease))
            let results = [(index: 0, json: "{\"file\": \"/a.jpg\", \"failure\": \"image access failure\"}"),
                           (index: 1, json: "{\"file\": \"/b.jpg\", \"detections\": []}")]
            #expect(try await store.complete(first, results: results))
            #expect(try await store.complete(first, results: results) == false, "a shard commits once")
            let summary = try #require(try await store.summary(id))
            #expect(summary.done == 2 && summary.failed == 1 && summary.status == .running && summary.shardsDone == 1)
            let counts = try await store.counts()
            #expect(counts.photosDone == 2 && counts.photosFailed == 1 && counts.jobs["running"] == 1 && counts.shards["pending"] == 1)
        }
    }

    /// Many workers claiming and committing at once (PostgreSQL's SKIP LOCKED path): every shard is
    /// handed out once, every photo committed once, and the last commit completes the job.
    @Test(arguments: StoreBackend.available) func concurrentWorkersShareShardsExactly(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let photos = (0..<60).map { "/photos/\($0).jpg" }
            let id = try await store.createJob(name: "t", model: "m", threshold: 0.1, photos: photos, shardSize: 3)
            let claimed = try await withThrowingTaskGroup(of: [Int].self) { group in
                for worker in 0..<6 {
                    group.addTask {
                        var shards: [Int] = []
                        while let claim = try await store.claim(worker: "w\(worker)", leaseSeconds: JobStoreTests.unexpiringLease) {
                            shards.append(claim.shard)
                            #expect(try await store.complete(claim, results: Self.results(claim)))
                        }
                        return shards
                    }
                }
                return try await group.reduce(into: []) { $0 += $1 }
            }
            #expect(claimed.sorted() == Array(0..<20))
            let summary = try #require(try await store.summary(id))
            #expect(summary.status == .completed && summary.done == 60 && summary.shardsDone == 20)
            #expect(try await store.results(id).map(\.path) == photos.sorted(), "stored in writing (code-point) order")
        }
    }
}

extension JobStoreTests {
    /// Results stream page by page in writing order (code points, as the reference sorts files) and
    /// equal the whole-file serialisation; photos without a result yet are left out.
    @Test(arguments: StoreBackend.available) func resultsStreamInPagesAsTheWholeFile(_ backend: StoreBackend) async throws {
        try await backend.withStore { store, _ in
            let photos = ["/p/b.jpg", "/p/Z.jpg", "/p/a é.jpg", "/p/a.jpg", "/p/c/1.jpg", "/p/0.png", "/p/ab.jpg"]
            let id = try await store.createJob(name: "t", model: "md_v5a.0.1.pt", threshold: 0.1, photos: photos, shardSize: 3)
            var claims: [ShardClaim] = []
            while let claim = try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease) { claims.append(claim) }
            for claim in claims.dropLast() {
                let results = claim.photos.map { photo in
                    (index: photo.index, json: "{\"file\": \"\(photo.path)\", \"detections\": [{\"category\": \"1\", \"conf\": 0.5, \"bbox\": [0.1, 0.2, 0.3, 0.4]}, {\"category\": \"2\", \"conf\": 0.9, \"bbox\": [0.0, 0.0, 0.5, 0.5]}]}")
                }
                #expect(try await store.complete(claim, results: results))
            }
            var streamed = ""
            try await store.streamResults(id, relativeTo: "/p", detectorName: "md_v5a.0.1.pt", pageSize: 2) { streamed += $0 }
            let parsed = try #require(try JSONParser.parse(Array(streamed.utf8)).object)
            let images = try (parsed["images"]?.array ?? []).map(ImageResult.init(json:))
            // Shards of 3 in writing order; the last one (c/1.jpg) is not done and is left out.
            #expect(images.map(\.file) == ["0.png", "Z.jpg", "a \u{e9}.jpg", "a.jpg", "ab.jpg", "b.jpg"])
            #expect(images.first?.detections?.map(\.conf) == [0.9, 0.5], "detections by confidence, as the reference writes them")
            let whole = ResultsFile(images: images, info: parsed["info"]?.object ?? JSONObject())
            #expect(streamed == whole.serialized())
        }
    }
}

/// PostgreSQL-only guarantees: the store outlives a database crash.
struct PostgresJobStoreTests {
    @Test(.requires(.postgres))
    func claimsAndCommitsContinueAfterTheDatabaseCrashes() async throws {
        try await StoreBackend.postgres.withStore { store, cluster in
            let cluster = try #require(cluster)
            let id = try await store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg"], shardSize: 1)
            let claim = try #require(try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease))
            try cluster.crashAndRestart(downSeconds: 0.5)
            // The pool reconnects: the claim made before the crash still holds (it was committed).
            #expect(try await store.complete(claim, results: JobStoreTests.results(claim)))
            let second = try #require(try await store.claim(worker: "w", leaseSeconds: JobStoreTests.unexpiringLease))
            #expect(second.shard != claim.shard)
            #expect(try await store.complete(second, results: JobStoreTests.results(second)))
            #expect(try await store.summary(id)?.status == .completed)
        }
    }

    @Test func postgresURLsAreCheckedAndPasswordsRedacted() {
        #expect(JobStoreConnection.isPostgres("postgres://u@h/db") && JobStoreConnection.isPostgres("postgresql://u@h/db"))
        #expect(!JobStoreConnection.isPostgres("/var/lib/jobs.sqlite"))
        #expect(JobStoreConnection.redacted("postgres://md:secret@db.example:5433/jobs") == "postgres://md:***@db.example:5433/jobs")
        #expect(JobStoreConnection.redacted("jobs.sqlite") == "jobs.sqlite")
    }
}
