import BatchService
import Engine
import Foundation
import VideoDecoding
import HTTPTypes
import Hummingbird
import ResultsFormat
import Diagnostics

/// The HTTP routes of the batch service.
struct ServiceAPI: Sendable {
    let store: any JobStore
    let keys: APIKeys
    let source: PhotoSource
    /// Clients choose among these only: a job must never make the server open an arbitrary file.
    let models: [String]
    /// The precisions a job may ask for (`serve --precisions`); the first is the default.
    var precisions: [Precision] = [.fp32]
    /// The SpeciesNet models a job may ask for (`serve --classifier`): name as given, resolved folder.
    var classifiers: [(name: String, folder: String)] = []
    let shardSize: Int
    let maxPhotosPerJob: Int
    let maxActiveJobs: Int
    let maxRequestBytes: Int

    func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.get("/healthz") { _, _ in json(.ok, JSONObject([("status", .string("ok"))])) }
        router.get("/openapi.yaml") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml"], body: .init(byteBuffer: ByteBuffer(string: ServiceOpenAPI.document)))
        }
        // Unauthenticated like most Prometheus targets: counts only, no names or paths.
        router.get("/metrics") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"],
                     body: .init(byteBuffer: ByteBuffer(string: ServiceMetrics.render(try await store.counts()))))
        }
        router.get("/v1/models") { request, _ in
            try await guarded(request) {
                json(.ok, JSONObject([("models", .array(models.enumerated().map { index, model in
                    .object(JSONObject([("name", .string((model as NSString).lastPathComponent)), ("default", .bool(index == 0))]))
                })), ("precisions", .array(precisions.map { .string($0.rawValue) })),
                ("classifiers", .array(classifiers.map { .string(($0.folder as NSString).lastPathComponent) }))]))
            }
        }
        router.post("/v1/jobs") { request, _ in try await guarded(request) { try await create(request) } }
        router.get("/v1/jobs") { request, _ in
            try await guarded(request) { json(.ok, JSONObject([("jobs", .array(try await store.jobs().filter { $0.caller == caller(of: request) }.map { .object(describe($0)) }))])) }
        }
        router.get("/v1/jobs/:id") { request, context in
            try await guarded(request) {
                guard let summary = try await ownedJob(try context.parameters.require("id"), request) else { return problem(.notFound, "no such job") }
                return json(.ok, describe(summary))
            }
        }
        router.post("/v1/jobs/:id/cancel") { request, context in
            try await guarded(request) {
                let id = try context.parameters.require("id")
                guard try await ownedJob(id, request) != nil else { return problem(.notFound, "no such job") }
                _ = try await store.cancel(id)
                return json(.ok, describe(try await store.summary(id)!))
            }
        }
        router.get("/v1/jobs/:id/results") { request, context in
            try await guarded(request) {
                let id = try context.parameters.require("id")
                guard let summary = try await ownedJob(id, request) else { return problem(.notFound, "no such job") }
                let partial = request.uri.queryParameters.get("partial") == "true"
                guard summary.status == .completed || partial else {
                    return problem(.conflict, "job is \(summary.status.rawValue); add ?partial=true for the photos done so far")
                }
                // Streamed a page of photos at a time: a million-photo job never sits in memory whole.
                let store = self.store
                return Response(status: .ok, headers: [.contentType: "application/json"], body: ResponseBody { writer in
                    try await store.streamResults(id, relativeTo: summary.base.isEmpty ? nil : summary.base, detectorName: summary.model,
                                                  precision: summary.precision, classification: JobClassification(serialized: summary.classification),
                                                  completed: summary.updated) { text in
                        try await writer.write(ByteBuffer(string: text))
                    }
                    try await writer.finish(nil)
                })
            }
        }
        registerReferenceRoutes(on: router)
        return router
    }

    /// The caller name of the request's API key, if the key is known.
    func caller(of request: Request) -> String? {
        let bearer = request.headers[.authorization].flatMap { $0.hasPrefix("Bearer ") ? String($0.dropFirst(7)) : nil }
        return (bearer ?? request.headers[HTTPField.Name("X-API-Key")!]).flatMap { keys.caller(forKey: $0) }
    }

    /// A job the request's caller submitted; other callers' jobs are "not found" (their existence is
    /// not revealed).
    func ownedJob(_ id: String, _ request: Request) async throws -> JobSummary? {
        guard let summary = try await store.summary(id), summary.caller == caller(of: request) else { return nil }
        return summary
    }

    /// The model a request names (by registry name, path or file name), or the default.
    func model(named requested: String?) -> String? {
        requested.map { name in models.first { $0 == name || ($0 as NSString).lastPathComponent == name } } ?? models.first
    }

    /// Authentication, then the handler; typed refusals become JSON errors.
    func guarded(_ request: Request, _ handler: () async throws -> Response) async throws -> Response {
        guard caller(of: request) != nil else { return problem(.unauthorized, "missing or unknown API key") }
        do {
            return try await handler()
        } catch let refusal as PhotoSource.Refusal {
            if case .tooMany = refusal { return problem(.unprocessableContent, "\(refusal)") }
            if case .malformedList = refusal { return problem(.badRequest, "\(refusal)") }
            if case .urlRefused = refusal { return problem(.forbidden, "\(refusal)") }
            return problem(.forbidden, "\(refusal)")
        } catch let failure as S3Client.Failure {
            switch failure {
            case .bucketNotAllowed: return problem(.forbidden, "\(failure)")
            case .malformedURI: return problem(.badRequest, "\(failure)")
            case .http, .network, .malformedListing: return problem(.badGateway, "\(failure)")
            }
        } catch let error as JSONParser.Failure {
            return problem(.badRequest, ErrorMessage.sentence(for: error))
        } catch let error as HTTPError {
            throw error
        }
    }

    func create(_ request: Request) async throws -> Response {
        var request = request
        let body = try await request.collectBody(upTo: maxRequestBytes)
        let document = try JSONParser.parse(Array(body.readableBytesView))
        guard let object = document.object else { return problem(.badRequest, "the body must be a JSON object") }
        let requested = object["model"]?.string ?? object["model_version"]?.string
        guard let model = model(named: requested) else {
            return problem(.badRequest, "unknown model '\(requested ?? "")'; this service offers \(models.map { ($0 as NSString).lastPathComponent })")
        }
        let folder = object["folder"]?.string ?? object["input_container_sas"]?.string
        let images = object["images"]?.array?.compactMap(\.string)
        guard folder != nil || images != nil else { return problem(.badRequest, "give 'folder' or 'images'") }
        guard try await store.activeJobCount() < maxActiveJobs else { return problem(.tooManyRequests, "\(maxActiveJobs) jobs are already active") }
        let extensions = object["image_extensions"]?.array?.compactMap { $0.string?.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
        let photos = try source.photos(folder: folder, images: images, limit: maxPhotosPerJob,
                                       firstN: object["first_n"]?.number.map { Int($0) }, sampleN: object["sample_n"]?.number.map { Int($0) },
                                       extensions: extensions.map(Set.init))
        let threshold = object["threshold"]?.number ?? 0.005
        let requestedPrecision = object["precision"]?.string
        guard let precision = requestedPrecision.map({ Precision(rawValue: $0) }) ?? precisions.first,
              precisions.contains(precision) else {
            return problem(.badRequest, "precision '\(requestedPrecision ?? "")' is not offered; this service allows \(precisions.map(\.rawValue))")
        }
        // Clips: process_video's frame_sample / time_sample (mutually exclusive; default every frame).
        let sampling: FrameSampling
        switch (object["frame_sample"]?.number, object["time_sample"]?.number) {
        case (nil, nil): sampling = .everyFrame
        case let (n?, nil) where n >= 0 && n == n.rounded() && n < 1e9: sampling = .everyNthFrame(Int(n))
        case let (nil, seconds?) where seconds > 0 && seconds.isFinite: sampling = .everySeconds(seconds)
        default: return problem(.badRequest, "give at most one of 'frame_sample' (a whole number of frames) and 'time_sample' (positive seconds)")
        }
        // Species classification (run_md_and_speciesnet's step): a classifier the service offers, and the geofence's place.
        var classification: JobClassification?
        if let requested = object["classifier"]?.string {
            guard let offered = classifiers.first(where: { $0.name == requested || ($0.folder as NSString).lastPathComponent == requested }) else {
                return problem(.badRequest, "unknown classifier '\(requested)'; this service offers \(classifiers.map { ($0.folder as NSString).lastPathComponent })")
            }
            let country = object["country"]?.string, region = object["admin1_region"]?.string
            if let country, country.count != 3 { return problem(.badRequest, "'country' is an ISO 3166-1 alpha-3 code, e.g. KEN") }
            if let region, country == nil || region.count != 2 { return problem(.badRequest, "'admin1_region' is a 2-letter region (e.g. CA) and needs 'country'") }
            classification = JobClassification(classifier: offered.folder, country: country, admin1Region: region)
        } else if object["country"] != nil || object["admin1_region"] != nil {
            return problem(.badRequest, "'country' and 'admin1_region' go with 'classifier'")
        }
        let id = try await store.createJob(name: object["request_name"]?.string ?? object["name"]?.string ?? "", model: model,
                                           threshold: threshold, precision: precision.rawValue, videoSampling: sampling.serialized,
                                           classification: classification?.serialized ?? "",
                                           photos: photos, shardSize: shardSize, base: "", caller: caller(of: request) ?? "")
        return json(.created, describe(try await store.summary(id)!))
    }

    func describe(_ summary: JobSummary) -> JSONObject {
        let elapsed = max(summary.updated.timeIntervalSince(summary.created), 0.001)
        let rate = Double(summary.done) / elapsed
        var object = JSONObject([
            ("id", .string(summary.id)), ("name", .string(summary.name)), ("status", .string(summary.status.rawValue)),
            ("model", .string((summary.model as NSString).lastPathComponent)), ("precision", .string(summary.precision)),
            ("video_sampling", .string(FrameSampling(serialized: summary.videoSampling)?.description ?? summary.videoSampling)),
            ("photos", .int(summary.total)), ("photos_done", .int(summary.done)),
            ("photos_failed", .int(summary.failed)), ("shards", .int(summary.shards)), ("shards_done", .int(summary.shardsDone)),
            ("rate_per_second", .double((rate * 100).rounded() / 100)),
        ])
        object["eta_seconds"] = rate > 0 && summary.status == .running ? .double((Double(summary.total - summary.done) / rate).rounded()) : .null
        object["classifier"] = JobClassification(serialized: summary.classification).map { .string(($0.classifier as NSString).lastPathComponent) } ?? .null
        object["message"] = .string(summary.message)
        return object
    }
}

func json(_ status: HTTPResponse.Status, _ object: JSONObject) -> Response {
    Response(status: status, headers: [.contentType: "application/json"],
             body: .init(byteBuffer: ByteBuffer(string: JSONWriter.serialize(.object(object)) + "\n")))
}

func problem(_ status: HTTPResponse.Status, _ message: String) -> Response {
    json(status, JSONObject([("error", .string(message)), ("status", .int(status.code))]))
}
