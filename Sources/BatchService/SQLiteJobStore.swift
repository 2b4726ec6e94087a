import Foundation
import GRDB
import ResultsFormat

/// The job store on one machine: SQLite through GRDB. Serve and workers on the same machine share
/// the file; for workers on other machines use `PostgresJobStore`.
public final class SQLiteJobStore: JobStore {
    // A pool puts SQLite in WAL mode: status reads never wait for a committing worker, and several
    // processes (serve, workers) can share one file on one machine.
    let database: DatabasePool

    public init(path: String) throws {
        var configuration = Configuration()
        configuration.busyMode = .timeout(10)
        database = try DatabasePool(path: path, configuration: configuration)
        try database.write { db in
            try db.execute(sql: """
                CREATE TABLE IF NOT EXISTS jobs (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, model TEXT NOT NULL,
                    threshold REAL NOT NULL, total INTEGER NOT NULL, created REAL NOT NULL, updated REAL NOT NULL,
                    message TEXT NOT NULL DEFAULT '', base TEXT NOT NULL DEFAULT '',
                    caller TEXT NOT NULL DEFAULT '', done INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0);
                CREATE TABLE IF NOT EXISTS shards (
                    job_id TEXT NOT NULL, shard INTEGER NOT NULL, state TEXT NOT NULL, token INTEGER NOT NULL DEFAULT 0,
                    lease_expires REAL NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '', PRIMARY KEY (job_id, shard));
                CREATE TABLE IF NOT EXISTS photos (
                    job_id TEXT NOT NULL, idx INTEGER NOT NULL, shard INTEGER NOT NULL, path TEXT NOT NULL, result TEXT,
                    PRIMARY KEY (job_id, idx));
                CREATE INDEX IF NOT EXISTS photos_by_shard ON photos (job_id, shard);
                """)
            // Added with precision modes: a store from before gets the column, its jobs fp32.
            if try !db.columns(in: "jobs").contains(where: { $0.name == "precision" }) {
                try db.execute(sql: "ALTER TABLE jobs ADD COLUMN precision TEXT NOT NULL DEFAULT 'fp32'")
            }
            // Added with video support: a store from before gets the column, its jobs every frame.
            if try !db.columns(in: "jobs").contains(where: { $0.name == "video_sampling" }) {
                try db.execute(sql: "ALTER TABLE jobs ADD COLUMN video_sampling TEXT NOT NULL DEFAULT ''")
            }
            // Added with species classification: a store from before gets the column, its jobs none.
            if try !db.columns(in: "jobs").contains(where: { $0.name == "classification" }) {
                try db.execute(sql: "ALTER TABLE jobs ADD COLUMN classification TEXT NOT NULL DEFAULT ''")
            }
        }
    }

    public func createJob(name: String, model: String, threshold: Double, precision: String, videoSampling: String, classification: String,
                          photos: [String], shardSize: Int, base: String, caller: String) throws -> String {
        let id = UUID().uuidString.lowercased()
        let photos = writingOrder(photos)
        let now = Date().timeIntervalSince1970
        let size = max(shardSize, 1)
        try database.write { db in
            try db.execute(sql: "INSERT INTO jobs (id, name, status, model, threshold, total, created, updated, base, caller, precision, video_sampling, classification) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                           arguments: [id, name, JobStatus.created.rawValue, model, threshold, photos.count, now, now, base, caller, precision, videoSampling,
                                       classification])
            for shard in 0..<((photos.count + size - 1) / size) {
                try db.execute(sql: "INSERT INTO shards (job_id, shard, state) VALUES (?, ?, 'pending')", arguments: [id, shard])
            }
            for (index, path) in photos.enumerated() {
                try db.execute(sql: "INSERT INTO photos (job_id, idx, shard, path) VALUES (?, ?, ?, ?)", arguments: [id, index, index / size, path])
            }
            if photos.isEmpty {
                try db.execute(sql: "UPDATE jobs SET status = ? WHERE id = ?", arguments: [JobStatus.completed.rawValue, id])
            }
        }
        return id
    }

    public func claim(worker: String, leaseSeconds: Double) throws -> ShardClaim? {
        let now = Date().timeIntervalSince1970
        return try database.write { db -> ShardClaim? in
            guard let row = try Row.fetchOne(db, sql: """
                SELECT s.job_id, s.shard, s.token, j.model, j.threshold, j.precision, j.video_sampling, j.classification FROM shards s JOIN jobs j ON j.id = s.job_id
                WHERE j.status IN ('created', 'running') AND (s.state = 'pending' OR (s.state = 'leased' AND s.lease_expires < ?))
                ORDER BY j.created, s.shard LIMIT 1
                """, arguments: [now]) else { return nil }
            let jobId: String = row["job_id"], shard: Int = row["shard"], token: Int = row["token"] + 1
            try db.execute(sql: "UPDATE shards SET state = 'leased', token = ?, lease_expires = ?, worker = ? WHERE job_id = ? AND shard = ?",
                           arguments: [token, now + leaseSeconds, worker, jobId, shard])
            try db.execute(sql: "UPDATE jobs SET status = 'running', updated = ? WHERE id = ? AND status = 'created'", arguments: [now, jobId])
            let photos = try Row.fetchAll(db, sql: "SELECT idx, path FROM photos WHERE job_id = ? AND shard = ? ORDER BY idx",
                                          arguments: [jobId, shard]).map { (index: $0["idx"] as Int, path: $0["path"] as String) }
            return ShardClaim(jobId: jobId, shard: shard, token: token, model: row["model"], threshold: row["threshold"],
                              precision: row["precision"], videoSampling: row["video_sampling"], classification: row["classification"], photos: photos)
        }
    }

    public func heartbeat(_ claim: ShardClaim, leaseSeconds: Double) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE shards SET lease_expires = ? WHERE job_id = ? AND shard = ? AND token = ? AND state = 'leased'
                AND (SELECT status FROM jobs WHERE id = ?) = 'running'
                """, arguments: [Date().timeIntervalSince1970 + leaseSeconds, claim.jobId, claim.shard, claim.token, claim.jobId])
            return db.changesCount == 1
        }
    }

    /// Commits a shard's results if the claim is still current: the fenced state change comes first, in
    /// the same transaction as the result upserts. Returns false (and writes nothing) for a stale claim.
    public func complete(_ claim: ShardClaim, results: [(index: Int, json: String)]) throws -> Bool {
        try database.write { db in
            try db.execute(sql: """
                UPDATE shards SET state = 'done' WHERE job_id = ? AND shard = ? AND token = ? AND state = 'leased'
                AND (SELECT status FROM jobs WHERE id = ?) = 'running'
                """, arguments: [claim.jobId, claim.shard, claim.token, claim.jobId])
            guard db.changesCount == 1 else { return false }
            for (index, json) in results {
                try db.execute(sql: "UPDATE photos SET result = ? WHERE job_id = ? AND idx = ?", arguments: [json, claim.jobId, index])
            }
            // Running counters, exact because a shard commits once: status polls on million-photo jobs
            // must not count rows. A failure record is the only result with a "failure" key.
            let failed = failureCount(results)
            let remaining = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shards WHERE job_id = ? AND state != 'done'", arguments: [claim.jobId]) ?? 0
            try db.execute(sql: """
                UPDATE jobs SET done = done + ?, failed = failed + ?, updated = ?,
                status = CASE WHEN ? = 0 AND status = 'running' THEN 'completed' ELSE status END WHERE id = ?
                """, arguments: [results.count, failed, Date().timeIntervalSince1970, remaining, claim.jobId])
            return true
        }
    }

    public func release(_ claim: ShardClaim) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "UPDATE shards SET state = 'pending', worker = '' WHERE job_id = ? AND shard = ? AND token = ? AND state = 'leased'",
                           arguments: [claim.jobId, claim.shard, claim.token])
            return db.changesCount == 1
        }
    }

    public func fail(_ id: String, message: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "UPDATE jobs SET status = 'failed', message = ?, updated = ? WHERE id = ? AND status IN ('created', 'running')",
                           arguments: [message, Date().timeIntervalSince1970, id])
            return db.changesCount == 1
        }
    }

    public func cancel(_ id: String) throws -> Bool {
        try database.write { db in
            try db.execute(sql: "UPDATE jobs SET status = 'canceled', updated = ? WHERE id = ? AND status IN ('created', 'running')",
                           arguments: [Date().timeIntervalSince1970, id])
            return db.changesCount == 1
        }
    }

    public func summary(_ id: String) throws -> JobSummary? {
        try database.read { db in try Self.summary(db, id) }
    }

    public func jobs() throws -> [JobSummary] {
        try database.read { db in
            try String.fetchAll(db, sql: "SELECT id FROM jobs ORDER BY created").compactMap { try Self.summary(db, $0) }
        }
    }

    public func activeJobCount() throws -> Int {
        try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM jobs WHERE status IN ('created', 'running')") ?? 0 }
    }

    public func counts() throws -> JobCounts {
        try database.read { db in
            func grouped(_ sql: String) throws -> [String: Int] {
                Dictionary(uniqueKeysWithValues: try Row.fetchAll(db, sql: sql).map { ($0[0] as String, $0[1] as Int) })
            }
            return JobCounts(jobs: try grouped("SELECT status, COUNT(*) FROM jobs GROUP BY status"),
                          shards: try grouped("SELECT state, COUNT(*) FROM shards GROUP BY state"),
                          photosDone: try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(done), 0) FROM jobs") ?? 0,
                          photosFailed: try Int.fetchOne(db, sql: "SELECT COALESCE(SUM(failed), 0) FROM jobs") ?? 0)
        }
    }

    static func summary(_ db: Database, _ id: String) throws -> JobSummary? {
        guard let job = try Row.fetchOne(db, sql: "SELECT * FROM jobs WHERE id = ?", arguments: [id]) else { return nil }
        let shards = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shards WHERE job_id = ?", arguments: [id]) ?? 0
        let shardsDone = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM shards WHERE job_id = ? AND state = 'done'", arguments: [id]) ?? 0
        return JobSummary(id: id, name: job["name"], status: JobStatus(rawValue: job["status"]) ?? .problem, model: job["model"],
                          total: job["total"], done: job["done"], failed: job["failed"], shards: shards, shardsDone: shardsDone,
                          created: Date(timeIntervalSince1970: job["created"]), updated: Date(timeIntervalSince1970: job["updated"]),
                          message: job["message"], base: job["base"], caller: job["caller"], precision: job["precision"], videoSampling: job["video_sampling"],
                          classification: job["classification"])
    }

    public func results(_ id: String, from start: Int, limit: Int) throws -> [(path: String, json: String?)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT path, result FROM photos WHERE job_id = ? AND idx >= ? ORDER BY idx LIMIT ?",
                             arguments: [id, start, limit])
                .map { (path: $0["path"] as String, json: $0["result"] as String?) }
        }
    }

    public func results(_ id: String) throws -> [(path: String, json: String?)] {
        try database.read { db in
            try Row.fetchAll(db, sql: "SELECT path, result FROM photos WHERE job_id = ? ORDER BY idx", arguments: [id])
                .map { (path: $0["path"] as String, json: $0["result"] as String?) }
        }
    }
}
