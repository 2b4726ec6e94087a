import Foundation
import Logging
import PostgresNIO

/// The job store for many machines: PostgreSQL through postgres-nio. Workers anywhere on the network
/// claim shards with `SELECT ... FOR UPDATE SKIP LOCKED`, so concurrent claimers never wait on each
/// other and never get the same shard. Lease times come from the database's clock, so workers with
/// skewed clocks still agree on when a lease expired.
public final class PostgresJobStore: JobStore {
    let client: PostgresClient
    let logger: Logger
    /// The database's clock in seconds since 1970, the only clock leases are measured with.
    static let now: String = "extract(epoch from clock_timestamp())::float8"
    /// Photos inserted per statement when a job is created (bounded bind arrays for million-photo jobs).
    static let insertChunk = 10_000

    init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Creates the tables once; an advisory lock keeps concurrent first starts (serve and workers
    /// starting together) from racing on `CREATE TABLE`.
    func createSchema() async throws {
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("SELECT pg_advisory_xact_lock(424242)", logger: logger)
            for statement: PostgresQuery in [
                """
                CREATE TABLE IF NOT EXISTS jobs (
                    id TEXT PRIMARY KEY, name TEXT NOT NULL, status TEXT NOT NULL, model TEXT NOT NULL,
                    threshold DOUBLE PRECISION NOT NULL, total BIGINT NOT NULL, created DOUBLE PRECISION NOT NULL,
                    updated DOUBLE PRECISION NOT NULL, message TEXT NOT NULL DEFAULT '', base TEXT NOT NULL DEFAULT '',
                    caller TEXT NOT NULL DEFAULT '', done BIGINT NOT NULL DEFAULT 0, failed BIGINT NOT NULL DEFAULT 0)
                """,
                """
                CREATE TABLE IF NOT EXISTS shards (
                    job_id TEXT NOT NULL, shard BIGINT NOT NULL, state TEXT NOT NULL, token BIGINT NOT NULL DEFAULT 0,
                    lease_expires DOUBLE PRECISION NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '',
                    PRIMARY KEY (job_id, shard))
                """,
                """
                CREATE TABLE IF NOT EXISTS photos (
                    job_id TEXT NOT NULL, idx BIGINT NOT NULL, shard BIGINT NOT NULL, path TEXT NOT NULL, result TEXT,
                    PRIMARY KEY (job_id, idx))
                """,
                "CREATE INDEX IF NOT EXISTS photos_by_shard ON photos (job_id, shard)",
                // Added with precision modes: a store from before gets the column, its jobs fp32.
                "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS precision TEXT NOT NULL DEFAULT 'fp32'",
                // Added with video support: a store from before gets the column, its jobs every frame.
                "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS video_sampling TEXT NOT NULL DEFAULT ''",
                // Added with species classification: a store from before gets the column, its jobs none.
                "ALTER TABLE jobs ADD COLUMN IF NOT EXISTS classification TEXT NOT NULL DEFAULT ''",
            ] {
                try await connection.query(statement, logger: logger)
            }
        }
    }

    public func createJob(name: String, model: String, threshold: Double, precision: String, videoSampling: String, classification: String,
                          photos: [String], shardSize: Int, base: String, caller: String) async throws -> String {
        let id = UUID().uuidString.lowercased()
        let photos = writingOrder(photos)
        let size = max(shardSize, 1)
        let shardCount = (photos.count + size - 1) / size
        let status = photos.isEmpty ? JobStatus.completed.rawValue : JobStatus.created.rawValue
        try await client.withTransaction(logger: logger) { connection in
            try await connection.query("""
                INSERT INTO jobs (id, name, status, model, threshold, total, created, updated, base, caller, precision, video_sampling, classification)
                VALUES (\(id), \(name), \(status), \(model), \(threshold), \(photos.count), \(unescaped: Self.now), \(unescaped: Self.now), \(base), \(caller), \(precision),
                        \(videoSampling), \(classification))
                """, logger: logger)
            try await connection.query("""
                INSERT INTO shards (job_id, shard, state) SELECT \(id), g, 'pending' FROM generate_series(0, \(shardCount - 1)) AS g
                """, logger: logger)
            for start in stride(from: 0, to: photos.count, by: Self.insertChunk) {
                let chunk = Array(photos[start..<min(start + Self.insertChunk, photos.count)])
                try await connection.query("""
                    INSERT INTO photos (job_id, idx, shard, path)
                    SELECT \(id), \(start) + t.n - 1, (\(start) + t.n - 1) / \(size), t.path FROM unnest(\(chunk)::text[]) WITH ORDINALITY AS t(path, n)
                    """, logger: logger)
            }
        }
        return id
    }

    public func claim(worker: String, leaseSeconds: Double) async throws -> ShardClaim? {
        try await client.withTransaction(logger: logger) { connection -> ShardClaim? in
            let candidates = try await connection.query("""
                SELECT s.job_id, s.shard, j.model, j.threshold, j.precision, j.video_sampling, j.classification FROM shards s JOIN jobs j ON j.id = s.job_id
                WHERE j.status IN ('created', 'running')
                  AND (s.state = 'pending' OR (s.state = 'leased' AND s.lease_expires < \(unescaped: Self.now)))
                ORDER BY j.created, s.shard LIMIT 1 FOR UPDATE OF s SKIP LOCKED
                """, logger: logger).collect()
            guard let row = candidates.first else { return nil }
            let (jobId, shard, model, threshold, precision, videoSampling, classification) =
                try row.decode((String, Int, String, Double, String, String, String).self)
            let tokens = try await connection.query("""
                UPDATE shards SET state = 'leased', token = token + 1, lease_expires = \(unescaped: Self.now) + \(leaseSeconds), worker = \(worker)
                WHERE job_id = \(jobId) AND shard = \(shard) RETURNING token
                """, logger: logger).collect()
            let token = try tokens[0].decode(Int.self)
            try await connection.query("""
                UPDATE jobs SET status = 'running', updated = \(unescaped: Self.now) WHERE id = \(jobId) AND status = 'created'
                """, logger: logger)
            var photos: [(index: Int, path: String)] = []
            for row in try await connection.query("""
                SELECT idx, path FROM photos WHERE job_id = \(jobId) AND shard = \(shard) ORDER BY idx
                """, logger: logger).collect() {
                let (index, path) = try row.decode((Int, String).self)
                photos.append((index, path))
            }
            return ShardClaim(jobId: jobId, shard: shard, token: token, model: model, threshold: threshold, precision: precision,
                              videoSampling: videoSampling, classification: classification, photos: photos)
        }
    }

    public func heartbeat(_ claim: ShardClaim, leaseSeconds: Double) async throws -> Bool {
        try await client.query("""
            UPDATE shards SET lease_expires = \(unescaped: Self.now) + \(leaseSeconds)
            WHERE job_id = \(claim.jobId) AND shard = \(claim.shard) AND token = \(claim.token) AND state = 'leased'
              AND (SELECT status FROM jobs WHERE id = \(claim.jobId)) = 'running'
            RETURNING 1
            """, logger: logger).collect().count == 1
    }

    public func complete(_ claim: ShardClaim, results: [(index: Int, json: String)]) async throws -> Bool {
        try await client.withTransaction(logger: logger) { connection -> Bool in
            // The job row is locked first: commits of the same job's last shards then run one after the
            // other, and the one that sees no shard left marks the job completed.
            let status = try await connection.query("SELECT status FROM jobs WHERE id = \(claim.jobId) FOR UPDATE", logger: logger).collect()
            guard try status.first?.decode(String.self) == JobStatus.running.rawValue else { return false }
            // The fenced state change before the results: a stale token changes no row and writes nothing.
            let fenced = try await connection.query("""
                UPDATE shards SET state = 'done' WHERE job_id = \(claim.jobId) AND shard = \(claim.shard)
                AND token = \(claim.token) AND state = 'leased' RETURNING 1
                """, logger: logger).collect()
            guard fenced.count == 1 else { return false }
            try await connection.query("""
                UPDATE photos AS p SET result = r.result FROM unnest(\(results.map(\.index))::bigint[], \(results.map(\.json))::text[]) AS r(idx, result)
                WHERE p.job_id = \(claim.jobId) AND p.idx = r.idx
                """, logger: logger)
            let remaining = try await connection.query("""
                SELECT COUNT(*) FROM shards WHERE job_id = \(claim.jobId) AND state != 'done'
                """, logger: logger).collect()[0].decode(Int.self)
            try await connection.query("""
                UPDATE jobs SET done = done + \(results.count), failed = failed + \(failureCount(results)), updated = \(unescaped: Self.now),
                status = CASE WHEN \(remaining) = 0 THEN 'completed' ELSE status END WHERE id = \(claim.jobId)
                """, logger: logger)
            return true
        }
    }

    public func release(_ claim: ShardClaim) async throws -> Bool {
        try await client.query("""
            UPDATE shards SET state = 'pending', worker = '' WHERE job_id = \(claim.jobId) AND shard = \(claim.shard)
            AND token = \(claim.token) AND state = 'leased' RETURNING 1
            """, logger: logger).collect().count == 1
    }

    public func fail(_ id: String, message: String) async throws -> Bool {
        try await client.query("""
            UPDATE jobs SET status = 'failed', message = \(message), updated = \(unescaped: Self.now)
            WHERE id = \(id) AND status IN ('created', 'running') RETURNING 1
            """, logger: logger).collect().count == 1
    }

    public func cancel(_ id: String) async throws -> Bool {
        try await client.query("""
            UPDATE jobs SET status = 'canceled', updated = \(unescaped: Self.now) WHERE id = \(id) AND status IN ('created', 'running') RETURNING 1
            """, logger: logger).collect().count == 1
    }

    /// The columns of a `JobSummary`, shard counts included, for `summary` and `jobs`.
    static let summaryColumns = """
        j.id, j.name, j.status, j.model, j.total, j.done, j.failed,
        (SELECT COUNT(*) FROM shards s WHERE s.job_id = j.id), (SELECT COUNT(*) FROM shards s WHERE s.job_id = j.id AND s.state = 'done'),
        j.created, j.updated, j.message, j.base, j.caller, j.precision, j.video_sampling, j.classification
        """

    static func summary(_ row: PostgresRow) throws -> JobSummary {
        let (id, name, status, model, total, done, failed, shards, shardsDone, created, updated, message, base, caller, precision, videoSampling,
             classification) =
            try row.decode((String, String, String, String, Int, Int, Int, Int, Int, Double, Double, String, String, String, String, String, String).self)
        return JobSummary(id: id, name: name, status: JobStatus(rawValue: status) ?? .problem, model: model, total: total, done: done,
                          failed: failed, shards: shards, shardsDone: shardsDone, created: Date(timeIntervalSince1970: created),
                          updated: Date(timeIntervalSince1970: updated), message: message, base: base, caller: caller, precision: precision,
                          videoSampling: videoSampling, classification: classification)
    }

    public func summary(_ id: String) async throws -> JobSummary? {
        try await client.query("SELECT \(unescaped: Self.summaryColumns) FROM jobs j WHERE j.id = \(id)", logger: logger)
            .collect().first.map(Self.summary)
    }

    public func jobs() async throws -> [JobSummary] {
        try await client.query("SELECT \(unescaped: Self.summaryColumns) FROM jobs j ORDER BY j.created", logger: logger)
            .collect().map(Self.summary)
    }

    public func activeJobCount() async throws -> Int {
        try await client.query("SELECT COUNT(*) FROM jobs WHERE status IN ('created', 'running')", logger: logger)
            .collect()[0].decode(Int.self)
    }

    public func counts() async throws -> JobCounts {
        func grouped(_ query: PostgresQuery) async throws -> [String: Int] {
            var counts: [String: Int] = [:]
            for row in try await client.query(query, logger: logger).collect() {
                let (key, count) = try row.decode((String, Int).self)
                counts[key] = count
            }
            return counts
        }
        let totals = try await client.query("SELECT COALESCE(SUM(done), 0)::bigint, COALESCE(SUM(failed), 0)::bigint FROM jobs", logger: logger)
            .collect()[0].decode((Int, Int).self)
        return JobCounts(jobs: try await grouped("SELECT status, COUNT(*) FROM jobs GROUP BY status"),
                         shards: try await grouped("SELECT state, COUNT(*) FROM shards GROUP BY state"),
                         photosDone: totals.0, photosFailed: totals.1)
    }

    public func results(_ id: String, from start: Int, limit: Int) async throws -> [(path: String, json: String?)] {
        try await client.query("SELECT path, result FROM photos WHERE job_id = \(id) AND idx >= \(start) ORDER BY idx LIMIT \(limit)", logger: logger)
            .collect().map { try $0.decode((String, String?).self) }.map { (path: $0.0, json: $0.1) }
    }

    public func results(_ id: String) async throws -> [(path: String, json: String?)] {
        try await client.query("SELECT path, result FROM photos WHERE job_id = \(id) ORDER BY idx", logger: logger)
            .collect().map { try $0.decode((String, String?).self) }.map { (path: $0.0, json: $0.1) }
    }
}
