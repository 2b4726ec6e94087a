import ArgumentParser
import Detection
import Classification
import BatchService
import Engine
import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import Diagnostics

struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Batch service: accept detection jobs over HTTP and run them with in-process workers (SQLite or PostgreSQL job store).",
        discussion: """
        POST /v1/jobs {"folder": "cam1", "model": "MDV5A", "threshold": 0.005} (or "images": [...]); \
        GET /v1/jobs/{id}; GET /v1/jobs; POST /v1/jobs/{id}/cancel; GET /v1/jobs/{id}/results[?partial=true]; \
        GET /healthz. Every /v1 request needs "Authorization: Bearer KEY" or "X-API-Key: KEY"; keys are \
        listed hashed in --api-keys (lines "caller sha256-of-key"; `megadetector hash-key KEY` prints one). \
        Photos must lie under a --root folder.
        """
    )

    @Option(help: "Job store: an SQLite file (created if missing) or postgres://user[:password]@host[:port]/database for workers on several machines.") var database: String
    @Option(help: "Folder photos may come from (repeatable).") var root: [String]
    @Option(help: "File of 'caller sha256hex' lines.") var apiKeys: String
    @Option(help: "Model a job may use (repeatable; a registry name such as MDV5A or a file). Jobs name one by this text or its file name; the first is the default.")
    var model: [String]
    @Option(help: "Seconds to wait at start-up for a PostgreSQL job store to answer.") var databaseStartTimeout: Int = 15
    @Option(help: "Address to listen on.") var host: String = "127.0.0.1"
    @Option(help: "Port to listen on.") var port: Int = 8080
    @Option(help: "Precisions a job may ask for, comma-separated (fp32, int8, bf16); the first is the default. int8 needs the model's calibration installed where the workers run (`megadetector calibrate MODEL PHOTOS --install`).")
    var precisions: String = "fp32"
    @Option(help: "SpeciesNet model a job may ask for with 'classifier' (repeatable; a model folder, SPECIESNET or kaggle:google/speciesnet/pyTorch/VERSION). Jobs name one by this text or its folder name; none: jobs cannot classify.")
    var classifier: [String] = []
    @Option(help: "In-process workers (0: accept jobs only; another serve on the same database runs them).") var workers: Int = 1
    @Option(help: "Photos per shard.") var shardSize: Int = 2000
    @Option(help: "Seconds an in-process worker's shard stays leased without a heartbeat.") var leaseSeconds: Double = 60
    @Option(help: "Largest number of photos in one job.") var maxPhotosPerJob: Int = 1_000_000
    @Option(help: "Largest number of jobs created or running at once.") var maxActiveJobs: Int = 10
    @Option(help: "Largest request body in bytes.") var maxRequestBytes: Int = 1 << 20
    @Flag(name: .customLong("allow-urls"), help: "Accept http/https photo URLs in 'images' (fetched by the workers).") var allowURLs = false
    @OptionGroup var download: DownloadOptions
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        engine.apply()
        let keys: APIKeys
        do {
            keys = try APIKeys(file: apiKeys)
        } catch {
            FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
        guard !model.isEmpty, !root.isEmpty else {
            FileHandle.standardError.write(Data("error: give at least one --model and one --root\n".utf8))
            throw ExitCode(1)
        }
        let allowedPrecisions: [Precision]
        do {
            allowedPrecisions = try Self.parsePrecisions(precisions)
        } catch {
            FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
        let classifiers: [(name: String, folder: String)]
        do {
            // Resolved and checked now: a wrong folder fails the start, not the first job that asks for it.
            classifiers = try classifier.map { name in
                let folder = try SpeciesNetModels.resolve(name, cacheFolder: ModelRegistry.cacheFolder)
                _ = try SpeciesNetModelFolder(folder: folder)
                return (name, folder)
            }
        } catch {
            FileHandle.standardError.write(Data("error: --classifier: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
        let s3 = try download.s3Client()
        let logger = Logger(label: "megadetector.serve")
        do {
            try await JobStoreConnection.withStore(database, logger: logger, startTimeoutSeconds: databaseStartTimeout) { store in
                try await serve(store, keys: keys, precisions: allowedPrecisions, classifiers: classifiers, s3: s3, logger: logger)
            }
        } catch let error as JobStoreConnection.LocationError {
            FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        } catch let error as ExitCode {
            throw error
        } catch {
            // E.g. the port is taken: one line that says so, instead of status 1 and nothing else. Not
            // "cannot serve": a database failure after hours of serving ends here too.
            FileHandle.standardError.write(Data("error: serving on \(host):\(port) stopped: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
    }

    func serve(_ store: any JobStore, keys: APIKeys, precisions allowedPrecisions: [Precision], classifiers: [(name: String, folder: String)],
               s3: S3Client?, logger: Logger) async throws {
        let policy = download.policy(allowURLs: allowURLs)
        let downloader = download.downloader(allowURLs: allowURLs)
        var api = ServiceAPI(store: store, keys: keys, source: PhotoSource(roots: root, urlPolicy: policy, s3: s3), models: model, shardSize: shardSize,
                             maxPhotosPerJob: maxPhotosPerJob, maxActiveJobs: maxActiveJobs, maxRequestBytes: maxRequestBytes)
        api.precisions = allowedPrecisions
        api.classifiers = classifiers
        let app = Application(router: api.router(), configuration: .init(address: .hostname(host, port: port)))
        let pool = (0..<max(workers, 0)).map { ShardWorker(store: store, name: "local-\($0)", leaseSeconds: leaseSeconds, backend: engine.backend,
                                                          downloader: downloader, s3: s3) }
        logger.info("listening on http://\(host):\(port), database \(JobStoreConnection.redacted(database)), \(pool.count) worker(s)")
        // SIGTERM/SIGINT shut down gracefully: the server stops taking requests and the workers hand
        // their shards back at a photo boundary; a second signal is not needed.
        let services = ServiceGroup(configuration: .init(
            services: [.init(service: app),
                       // With --workers 0 the pool returns at once; the server must keep running.
                       .init(service: WorkerPoolService(workers: pool, logger: logger), successTerminationBehavior: .ignore)],
            gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
    }

    /// `--precisions fp32,int8` -> the list, each one this machine can run (else the reason).
    static func parsePrecisions(_ text: String) throws -> [Precision] {
        let list = try text.split(separator: ",").map { item -> Precision in
            let name = item.trimmingCharacters(in: .whitespaces)
            guard let precision = Precision(rawValue: name) else { throw ValidationError("--precisions: unknown precision '\(name)' (fp32, int8, bf16)") }
            if let reason = precision.unavailabilityReason { throw ValidationError("--precisions \(name): \(reason)") }
            return precision
        }
        guard !list.isEmpty else { throw ValidationError("--precisions needs at least one precision") }
        return list
    }
}
