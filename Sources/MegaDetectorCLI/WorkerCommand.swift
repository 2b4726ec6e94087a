import ArgumentParser
import BatchService
import Foundation
import Logging
import Diagnostics

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run shards of batch-service jobs from a job database until stopped (SIGINT/SIGTERM).",
        discussion: """
        Claims a shard, detects its photos, renews its lease while working and commits the shard's \
        results in one fenced transaction. On SIGINT/SIGTERM it stops at the next photo and hands its \
        shard back. A worker that dies simply lets its lease expire; another worker then redoes the shard.
        """
    )

    @Option(help: "The job store of the service: its SQLite file, or its postgres:// URL.") var database: String
    @Option(help: "Worker name in the logs and the shard table.") var name: String = "worker-\(ProcessInfo.processInfo.processIdentifier)"
    @Option(help: "Seconds a claimed shard stays ours without a heartbeat.") var leaseSeconds: Double = 60
    @Flag(help: "Exit when no shard is waiting instead of polling for more.") var exitWhenIdle = false
    @Option(help: "Seconds to wait at start-up for a PostgreSQL job store to answer.") var databaseStartTimeout: Int = 15
    @OptionGroup var download: DownloadOptions
    @OptionGroup var engine: EngineOptions

    func run() async throws {
        engine.apply()
        let s3 = try download.s3Client()
        var logger = Logger(label: "megadetector.worker")
        logger[metadataKey: "worker"] = "\(name)"
        do {
            try await JobStoreConnection.withStore(database, logger: logger, startTimeoutSeconds: databaseStartTimeout) { store in
                let worker = ShardWorker(store: store, name: name, leaseSeconds: leaseSeconds, backend: engine.backend,
                                         downloader: download.downloader(allowURLs: true), s3: s3)
                let signals = DetectCommand.installSignalHandlers { _ in worker.stop() }
                defer { signals.forEach { $0.cancel() } }
                logger.info("working on \(JobStoreConnection.redacted(database))")
                await worker.run(exitWhenIdle: exitWhenIdle, logger: logger)
                logger.info("stopped")
            }
        } catch {
            FileHandle.standardError.write(Data("error: cannot open the job database \(JobStoreConnection.redacted(database)): \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
    }
}
