import BatchService
import Logging
import ServiceLifecycle

/// The in-process workers of `serve` as one lifecycle service: on graceful shutdown (SIGTERM,
/// SIGINT) each worker stops at its next photo and hands its shard back, so the next start or
/// another worker takes it at once instead of waiting for the lease to run out.
struct WorkerPoolService: Service {
    let workers: [ShardWorker]
    let logger: Logger

    func run() async throws {
        await withGracefulShutdownHandler {
            await withTaskGroup(of: Void.self) { group in
                for worker in workers {
                    var workerLogger = logger
                    workerLogger[metadataKey: "worker"] = "\(worker.name)"
                    group.addTask { [workerLogger] in await worker.run(logger: workerLogger) }
                }
            }
        } onGracefulShutdown: {
            workers.forEach { $0.stop() }
        }
        logger.info("workers stopped")
    }
}
