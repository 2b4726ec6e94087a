import Foundation

/// Where a job is in its life. `problem` is reported for a status the store does not know (a newer
/// service wrote it), never stored by this one.
public enum JobStatus: String, Sendable, Codable {
    case created, running, completed, failed, canceled, problem
}

/// A shard a worker holds: its photos, the job's model and threshold, and the fencing token that
/// every later heartbeat and the commit must present.
public struct ShardClaim: Sendable {
    public let jobId: String
    public let shard: Int
    public let token: Int
    public let model: String
    public let threshold: Double
    /// The job's convolution precision ("fp32", "int8", "bf16").
    public let precision: String
    /// Which frames of the job's clips are sampled (`FrameSampling.serialized`; "" every frame).
    public let videoSampling: String
    /// Species classification of the job's detections (`JobClassification.serialized`; "" none).
    public let classification: String
    public let photos: [(index: Int, path: String)]

    public init(jobId: String, shard: Int, token: Int, model: String, threshold: Double, precision: String = "fp32",
                videoSampling: String = "", classification: String = "", photos: [(index: Int, path: String)]) {
        self.classification = classification
        self.jobId = jobId
        self.shard = shard
        self.token = token
        self.model = model
        self.threshold = threshold
        self.precision = precision
        self.videoSampling = videoSampling
        self.photos = photos
    }
}

public struct JobSummary: Sendable {
    public var id: String
    public var name: String
    public var status: JobStatus
    public var model: String
    public var total: Int
    public var done: Int
    public var failed: Int
    public var shards: Int
    public var shardsDone: Int
    public var created: Date
    public var updated: Date
    public var message: String
    public var base: String
    public var caller: String
    public var precision = "fp32"
    public var videoSampling = ""
    public var classification = ""
}

/// Counts for monitoring: jobs by status, shards by state, photos with results and failures.
public struct JobCounts: Sendable {
    public var jobs: [String: Int]
    public var shards: [String: Int]
    public var photosDone: Int
    public var photosFailed: Int
}

/// The service's durable queue: jobs, their shards, and one row per photo. Two implementations keep
/// the same guarantees: SQLite for one machine (`SQLiteJobStore`), PostgreSQL for many
/// (`PostgresJobStore`). Workers claim shards with a lease and a fencing token: every claim increments
/// the token, so a worker whose lease expired (and whose shard was handed to another) can neither
/// heartbeat nor commit. Results are written per photo, keyed by (job, photo), in the same transaction
/// as the fenced state change, so each photo ends up in the results exactly once.
public protocol JobStore: Sendable {
    /// Records a job with its photos split into shards of `shardSize`. Returns the job id.
    /// `base`: a folder the results file names photos relative to ("" for absolute paths); `caller`:
    /// who submitted it (only they may see or cancel it); `precision`: the convolutions' arithmetic
    /// ("fp32", "int8", "bf16"), for every worker that takes a shard; `videoSampling`: the frames of
    /// clips to run on (`FrameSampling.serialized`, "" for every frame).
    func createJob(name: String, model: String, threshold: Double, precision: String, videoSampling: String, classification: String,
                   photos: [String], shardSize: Int, base: String, caller: String) async throws -> String
    /// Claims the oldest pending shard, or one whose lease expired, for `worker`.
    func claim(worker: String, leaseSeconds: Double) async throws -> ShardClaim?
    /// Extends a lease; false when the token is stale (the shard was handed to someone else) or the
    /// job is no longer running.
    func heartbeat(_ claim: ShardClaim, leaseSeconds: Double) async throws -> Bool
    /// Commits a shard's results if the claim is still current; false (and nothing written) otherwise.
    func complete(_ claim: ShardClaim, results: [(index: Int, json: String)]) async throws -> Bool
    /// Gives a shard back without results (a worker shutting down), so another worker can take it at
    /// once instead of waiting for the lease to expire. False for a stale claim.
    func release(_ claim: ShardClaim) async throws -> Bool
    /// Ends a job that cannot run at all (its model does not load), with the reason for the caller.
    func fail(_ id: String, message: String) async throws -> Bool
    func cancel(_ id: String) async throws -> Bool
    func summary(_ id: String) async throws -> JobSummary?
    func jobs() async throws -> [JobSummary]
    func activeJobCount() async throws -> Int
    func counts() async throws -> JobCounts
    /// Every photo of the job once, in writing order, with its result (nil while not processed).
    func results(_ id: String) async throws -> [(path: String, json: String?)]
    /// At most `limit` photos from position `start` on, for reading a large job's results in pages.
    func results(_ id: String, from start: Int, limit: Int) async throws -> [(path: String, json: String?)]
}

extension JobStore {
    /// A job without species classification.
    public func createJob(name: String, model: String, threshold: Double, precision: String, videoSampling: String, photos: [String],
                          shardSize: Int, base: String, caller: String) async throws -> String {
        try await createJob(name: name, model: model, threshold: threshold, precision: precision, videoSampling: videoSampling, classification: "",
                            photos: photos, shardSize: shardSize, base: base, caller: caller)
    }

    public func createJob(name: String, model: String, threshold: Double, photos: [String], shardSize: Int) async throws -> String {
        try await createJob(name: name, model: model, threshold: threshold, precision: "fp32", videoSampling: "", photos: photos, shardSize: shardSize,
                            base: "", caller: "")
    }

    public func createJob(name: String, model: String, threshold: Double, photos: [String], shardSize: Int, base: String,
                          caller: String) async throws -> String {
        try await createJob(name: name, model: model, threshold: threshold, precision: "fp32", videoSampling: "", photos: photos, shardSize: shardSize,
                            base: base, caller: caller)
    }
}

/// The order photos are stored, processed and written in: code-point order, as the reference sorts
/// a results file's images, so that a job's results can be streamed in storage order.
func writingOrder(_ photos: [String]) -> [String] {
    photos.sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
}

/// Failure records are the only per-photo results with a "failure" key: counted for the job's
/// progress without parsing every result.
func failureCount(_ results: [(index: Int, json: String)]) -> Int {
    results.filter { $0.json.contains("\"failure\":") }.count
}
