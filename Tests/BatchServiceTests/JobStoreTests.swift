import BatchService
import Foundation
import Testing

/// The job store's guarantees that keep a distributed run exact: every photo is committed once, by
/// the current holder of its shard only, and nothing is written for a canceled job.
struct JobStoreTests {
    static func store() throws -> JobStore {
        try JobStore(path: FileManager.default.temporaryDirectory.appendingPathComponent("jobs-\(UUID().uuidString).sqlite").path)
    }

    static func results(_ claim: JobStore.Claim) -> [(index: Int, json: String)] {
        claim.photos.map { (index: $0.index, json: "{\"file\": \"\($0.path)\", \"detections\": []}") }
    }

    @Test func shardsCoverEveryPhotoOnceInOrder() throws {
        let store = try Self.store()
        let photos = (0..<7).map { "/photos/\($0).jpg" }
        let id = try store.createJob(name: "t", model: "m", threshold: 0.1, photos: photos, shardSize: 3)
        var seen: [String] = []
        while let claim = try store.claim(worker: "w", leaseSeconds: 60) {
            seen += claim.photos.map(\.path)
            #expect(try store.complete(claim, results: Self.results(claim)))
        }
        #expect(seen == photos)
        let summary = try #require(try store.summary(id))
        #expect(summary.status == .completed && summary.shards == 3 && summary.done == 7 && summary.failed == 0)
        #expect(try store.results(id).map(\.path) == photos)
    }

    @Test func staleHolderCannotCommitAfterItsLeaseIsTakenOver() throws {
        let store = try Self.store()
        let id = try store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg"], shardSize: 2)
        let slow = try #require(try store.claim(worker: "slow", leaseSeconds: 0.05))
        #expect(try store.claim(worker: "other", leaseSeconds: 60) == nil, "a live lease is not handed out twice")
        Thread.sleep(forTimeInterval: 0.1)
        let fresh = try #require(try store.claim(worker: "fresh", leaseSeconds: 60))
        #expect(fresh.shard == slow.shard && fresh.token == slow.token + 1)
        #expect(try store.heartbeat(slow, leaseSeconds: 60) == false)
        #expect(try store.complete(slow, results: [(0, "{\"file\": \"stale\"}")]) == false)
        #expect(try store.complete(fresh, results: Self.results(fresh)))
        #expect(try store.results(id).map { $0.json?.contains("stale") } == [false, false])
        #expect(try store.summary(id)?.status == .completed)
    }

    @Test func canceledJobAcceptsNoResultsAndHandsOutNoShards() throws {
        let store = try Self.store()
        let id = try store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg"], shardSize: 1)
        let claim = try #require(try store.claim(worker: "w", leaseSeconds: 60))
        #expect(try store.cancel(id))
        #expect(try store.heartbeat(claim, leaseSeconds: 60) == false)
        #expect(try store.complete(claim, results: Self.results(claim)) == false)
        #expect(try store.claim(worker: "w", leaseSeconds: 60) == nil)
        #expect(try store.summary(id)?.status == .canceled && store.summary(id)?.done == 0)
        #expect(try store.cancel(id) == false, "canceling twice changes nothing")
    }

    @Test func jobsSurviveReopeningTheDatabase() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("jobs-\(UUID().uuidString).sqlite").path
        let id = try JobStore(path: path).createJob(name: "kept", model: "m", threshold: 0.2, photos: ["/a.jpg"], shardSize: 10)
        let reopened = try JobStore(path: path)
        #expect(try reopened.summary(id)?.name == "kept")
        #expect(try reopened.claim(worker: "w", leaseSeconds: 60)?.photos.map(\.path) == ["/a.jpg"])
    }
}

extension JobStoreTests {
    /// Progress counters come from committed shards only: a refused stale commit adds nothing.
    @Test func countersFollowCommittedShards() throws {
        let store = try Self.store()
        let id = try store.createJob(name: "t", model: "m", threshold: 0.1, photos: ["/a.jpg", "/b.jpg", "/c.jpg"], shardSize: 2)
        let first = try #require(try store.claim(worker: "w", leaseSeconds: 60))
        let results = [(index: 0, json: "{\"file\": \"/a.jpg\", \"failure\": \"image access failure\"}"),
                       (index: 1, json: "{\"file\": \"/b.jpg\", \"detections\": []}")]
        #expect(try store.complete(first, results: results))
        #expect(try store.complete(first, results: results) == false, "a shard commits once")
        let summary = try #require(try store.summary(id))
        #expect(summary.done == 2 && summary.failed == 1 && summary.status == .running && summary.shardsDone == 1)
        let counts = try store.counts()
        #expect(counts.photosDone == 2 && counts.photosFailed == 1 && counts.jobs["running"] == 1 && counts.shards["pending"] == 1)
    }
}
