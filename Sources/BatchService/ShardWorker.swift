import Classification
import Detection
import Engine
import Foundation
import VideoDecoding
import Logging
import ModelFormats
import ResultsFormat
import Diagnostics

/// Pulls shards from the store and runs the detector on them: one photo at a time, a heartbeat every
/// few photos, and a fenced commit at the end. A canceled job or a stale lease stops the shard
/// without writing anything. Models are loaded once per path and kept.
public final class ShardWorker: @unchecked Sendable {
    // Safety: `detectors`, `classifiers` and `stopRequested` are only touched from the single task running `run`,
    // except `stop()`, which only sets a flag under `lock`.
    public let store: any JobStore
    public let name: String
    public let leaseSeconds: Double
    public let backend: ExecutionBackend
    public let downloader: PhotoDownloader
    public let s3: S3Client?
    private var detectors: [String: Detector] = [:]
    private var classifiers: [String: DetectionClassification] = [:]
    private let lock = NSLock()
    private var stopRequested = false

    public init(store: any JobStore, name: String = "worker-\(ProcessInfo.processInfo.processIdentifier)", leaseSeconds: Double = 60,
                backend: ExecutionBackend = .oneDNN, downloader: PhotoDownloader = PhotoDownloader(policy: .refuseAll),
                s3: S3Client? = nil) {
        self.store = store
        self.s3 = s3
        self.downloader = downloader
        self.backend = backend
        self.name = name
        self.leaseSeconds = leaseSeconds
    }

    public func stop() {
        lock.lock()
        stopRequested = true
        lock.unlock()
    }

    var stopping: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    /// Works until `stop()` (or, with `exitWhenIdle`, until no shard is waiting); sleeps
    /// `idleSeconds` when there is nothing to do.
    /// Log lines carry the job, shard and fencing token as metadata.
    public func run(idleSeconds: Double = 0.5, exitWhenIdle: Bool = false, logger: Logger) async {
        while !stopping && !Task.isCancelled {
            do {
                guard let claim = try await store.claim(worker: name, leaseSeconds: leaseSeconds) else {
                    if exitWhenIdle { return }
                    try? await Task.sleep(nanoseconds: UInt64(idleSeconds * 1e9))
                    continue
                }
                var shardLogger = logger
                shardLogger[metadataKey: "job"] = "\(claim.jobId)"
                shardLogger[metadataKey: "shard"] = "\(claim.shard)"
                shardLogger[metadataKey: "token"] = "\(claim.token)"
                shardLogger.info("claimed \(claim.photos.count) photos")
                if try await process(claim, logger: shardLogger) {
                    shardLogger.info("committed")
                } else {
                    shardLogger.notice("not committed (stopping, canceled or lease lost)")
                }
            } catch {
                logger.error("worker error: \(ErrorMessage.sentence(for: error))")
                try? await Task.sleep(nanoseconds: UInt64(idleSeconds * 1e9))
            }
        }
    }

    /// Runs one claimed shard; returns whether its results were committed. A database that cannot be
    /// reached for a heartbeat does not stop the work (the commit is fenced anyway); the commit itself
    /// is retried while the database comes back, for up to about a lease.
    public func process(_ claim: ShardClaim, logger: Logger = Logger(label: "megadetector.worker")) async throws -> Bool {
        let loaded: Detector
        do {
            loaded = try detector(for: claim.model, threshold: claim.threshold, precision: claim.precision)
        } catch {
            // Retrying cannot help and other workers would fail the same way: end the job with the reason.
            _ = try await store.fail(claim.jobId, message: "cannot load model \(claim.model): \(ErrorMessage.sentence(for: error))")
            return false
        }
        // Species classification: a job whose classifier does not load fails as one whose model does not.
        var step: DetectionClassification?
        if !claim.classification.isEmpty {
            do {
                guard let classification = JobClassification(serialized: claim.classification) else {
                    throw ValidationFailure(message: "unreadable classification settings '\(claim.classification)'")
                }
                step = try classifier(for: classification)
            } catch {
                _ = try await store.fail(claim.jobId, message: "cannot load classifier: \(ErrorMessage.sentence(for: error))")
                return false
            }
        }
        let runner = BatchRunner(detector: loaded, progress: ProgressReporter(interactive: false))
        // Downloaded photos are kept until classified (the classifier crops them again), then removed.
        let downloads = DownloadedFiles(keep: step != nil)
        var results: [(index: Int, json: String)] = []
        var lastHeartbeat = Date()
        var dropped = false
        let downloader = self.downloader, s3 = self.s3
        // Decoding (and downloading) of the next photos overlaps inference of the current one.
        // A store written by a newer version could name a sampling this one does not know: every frame
        // would be a different result than asked, so the shard fails instead.
        guard let sampling = FrameSampling(serialized: claim.videoSampling) else {
            _ = try await store.fail(claim.jobId, message: "unknown video sampling '\(claim.videoSampling)'")
            return false
        }
        try await runner.records(for: claim.photos.map(\.path), videoSampling: sampling, localFile: { reference in
            guard reference.contains("://") else { return (reference, false) }
            return Self.download(reference, downloader: downloader, s3: s3).map { downloads.note(reference, $0.path) }
        }) { entry in
            var entry = entry
            if let step {
                let local = downloads.take(entry.file)
                entry = try JobClassification.classify(entry, path: local ?? entry.file, with: step) { logger.notice("\($0)") }
                if let local { try? FileManager.default.removeItem(atPath: local) }
            }
            results.append((claim.photos[results.count].index, JSONWriter.serialize(entry.json, indent: nil)))
            // A worker asked to stop hands the shard back, unless it has just finished it.
            if stopping && results.count < claim.photos.count {
                _ = try? await store.release(claim)
                dropped = true
                return false
            }
            if Date().timeIntervalSince(lastHeartbeat) > leaseSeconds / 4 {
                do {
                    if try await !store.heartbeat(claim, leaseSeconds: leaseSeconds) {
                        logger.notice("lease lost: token \(claim.token) is stale or the job stopped; dropping the shard")
                        dropped = true
                        return false
                    }
                } catch {
                    logger.warning("heartbeat failed, working on: \(ErrorMessage.sentence(for: error))")
                }
                lastHeartbeat = Date()
            }
            return true
        }
        downloads.removeAll()
        if dropped { return false }
        return try await commit(claim, results: results, logger: logger)
    }

    /// The fenced commit, retried with backoff while the database is unreachable (a restart, a
    /// network cut). A retry after a commit whose answer was lost returns false: nothing is written twice.
    func commit(_ claim: ShardClaim, results: [(index: Int, json: String)], logger: Logger) async throws -> Bool {
        // Test hook: commits wait while this file exists, so that a test can act while a job is surely
        // unfinished (with the tiny test model a 45-photo job can finish before the test's next
        // request; a fixed delay was not enough on a loaded machine).
        if let gate = ProcessInfo.processInfo.environment["MEGADETECTOR_TEST_COMMIT_GATE"] {
            while FileManager.default.fileExists(atPath: gate) && !stopping { try? await Task.sleep(nanoseconds: 200_000_000) }
        }
        var delay = 0.5
        let deadline = Date().addingTimeInterval(max(leaseSeconds, 30))
        while true {
            do {
                return try await store.complete(claim, results: results)
            } catch where Date() < deadline && !stopping {
                logger.warning("commit failed, retrying in \(delay) s: \(ErrorMessage.sentence(for: error))")
                try? await Task.sleep(nanoseconds: UInt64(delay * 1e9))
                delay = min(delay * 2, 8)
            }
        }
    }

    /// A photo named by URL (http(s), or s3:// through a presigned URL) downloaded to a temporary
    /// file; nil when it cannot be had for good (the record is then an image access failure).
    static func download(_ reference: String, downloader: PhotoDownloader, s3: S3Client?) -> URL? {
        do {
            if reference.hasPrefix("s3://") {
                guard let s3 else { throw S3Client.Failure.malformedURI("\(reference) (this worker has no --s3-bucket configured)") }
                return try downloader.fetch(try s3.downloadURL(reference))
            }
            return try downloader.download(reference)
        } catch {
            FileHandle.standardError.write(Data("Image \(reference) cannot be downloaded: \(ErrorMessage.sentence(for: error))\n".utf8))
            return nil
        }
    }

    func classifier(for classification: JobClassification) throws -> DetectionClassification {
        if let step = classifiers[classification.serialized] { return step }
        let step = try classification.load()
        classifiers[classification.serialized] = step
        return step
    }

    struct ValidationFailure: Error, CustomStringConvertible {
        let message: String
        var description: String { message }
    }

    /// int8 uses the model's installed calibration only: measuring one per worker on its shard's photos
    /// would let a job's results depend on which worker took which shard.
    func detector(for model: String, threshold: Double, precision: String) throws -> Detector {
        let key = "\(model)|\(threshold)|\(precision)"
        if let detector = detectors[key] { return detector }
        guard let arithmetic = Precision(rawValue: precision) else { throw EngineError.unsupportedPrecision("unknown precision '\(precision)'") }
        let detector = try Detector.load(path: try ModelRegistry.resolve(model), backend: backend, threshold: threshold,
                                         precision: PrecisionRequest(precision: arithmetic, measuresMissingCalibration: false))
        detectors[key] = detector
        return detector
    }
}

/// The temporary files of downloaded photos that classification still needs, by reference; without
/// classification the decoder removes each as soon as it is decoded.
final class DownloadedFiles: @unchecked Sendable {
    // Safety: `paths` is only touched under `lock` (the decoding task notes, the inference loop takes).
    private let lock = NSLock()
    private var paths: [String: String] = [:]
    let keep: Bool

    init(keep: Bool) { self.keep = keep }

    func note(_ reference: String, _ path: String) -> (path: String, isTemporary: Bool) {
        guard keep else { return (path, true) }
        lock.lock()
        defer { lock.unlock() }
        paths[reference] = path
        return (path, false)
    }

    /// Removes what a stopped shard left behind.
    func removeAll() {
        lock.lock()
        defer { lock.unlock() }
        for path in paths.values { try? FileManager.default.removeItem(atPath: path) }
        paths.removeAll()
    }

    func take(_ reference: String) -> String? {
        lock.lock()
        defer { lock.unlock() }
        return paths.removeValue(forKey: reference)
    }
}
