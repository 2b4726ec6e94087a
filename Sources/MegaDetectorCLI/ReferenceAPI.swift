import BatchService
import Foundation
import Hummingbird
import ResultsFormat

/// The reference batch API's paths and shapes (`/v4/camera-trap/detection-batch/...`), so callers
/// written for it keep working: a "container" is a folder under a root, the requested-images list
/// is a JSON file there, and results name photos relative to the container, as the reference did.
extension ServiceAPI {
    static let referencePrefix = "/v4/camera-trap/detection-batch"

    func registerReferenceRoutes(on router: Router<BasicRequestContext>) {
        let prefix = Self.referencePrefix
        router.post("\(prefix)/request_detections") { request, _ in try await guarded(request) { try await referenceSubmit(request) } }
        router.get("\(prefix)/task/:id") { request, context in
            try await guarded(request) {
                let id = try context.parameters.require("id")
                guard let summary = try await ownedJob(id, request) else { return problem(.notFound, "no such request") }
                return json(.ok, referenceStatus(summary, host: request.head.authority ?? "localhost"))
            }
        }
        router.post("\(prefix)/cancel_request") { request, _ in
            try await guarded(request) {
                var request = request
                let body = try JSONParser.parse(Array(try await request.collectBody(upTo: maxRequestBytes).readableBytesView))
                guard let id = body.object?["request_id"]?.string else { return problem(.badRequest, "'request_id' is required") }
                guard try await ownedJob(id, request) != nil else { return problem(.notFound, "no such request") }
                _ = try await store.cancel(id)
                return json(.ok, JSONObject([("request_id", .string(id)), ("message", .string("cancel signal sent"))]))
            }
        }
        router.get("\(prefix)/supported_model_versions") { request, _ in
            try await guarded(request) { json(.ok, JSONObject([("supported_model_versions", .array(models.map { .string(Self.modelName($0)) }))])) }
        }
        router.get("\(prefix)/default_model_version") { request, _ in
            try await guarded(request) { json(.ok, JSONObject([("default_model_version", .string(Self.modelName(models[0])))])) }
        }
    }

    static func modelName(_ model: String) -> String { (model as NSString).lastPathComponent }

    /// `request_detections`: the reference's inputs, filtered in its order (requested list, path
    /// prefix, first_n, sample_n). The body's `caller` must be the API key's caller.
    func referenceSubmit(_ request: Request) async throws -> Response {
        var request = request
        let document = try JSONParser.parse(Array(try await request.collectBody(upTo: maxRequestBytes).readableBytesView))
        guard let object = document.object else { return problem(.badRequest, "the body must be a JSON object") }
        guard let caller = object["caller"]?.string else { return problem(.badRequest, "'caller' is required") }
        guard caller == self.caller(of: request) else { return problem(.forbidden, "caller '\(caller)' does not match the API key") }
        guard let container = object["input_container_sas"]?.string else { return problem(.badRequest, "'input_container_sas' (a folder under a root) is required") }
        if object["use_url"] == .bool(true) { return problem(.badRequest, "use_url is not supported: photos must be under a root folder") }
        guard let model = model(named: object["model_version"]?.string) else {
            return problem(.badRequest, "unknown model_version; see \(Self.referencePrefix)/supported_model_versions")
        }
        guard try await store.activeJobCount() < maxActiveJobs else { return problem(.serviceUnavailable, "the queue of requests is full; retry later") }
        let base = try source.confine(container)
        let photos = try source.referencePhotos(container: base, requestedList: object["images_requested_json_sas"]?.string,
                                                pathPrefix: object["image_path_prefix"]?.string,
                                                firstN: object["first_n"]?.number.map { Int($0) },
                                                sampleN: object["sample_n"]?.number.map { Int($0) }, limit: maxPhotosPerJob)
        let id = try await store.createJob(name: object["request_name"]?.string ?? "", model: model, threshold: 0.005, photos: photos,
                                     shardSize: shardSize, base: base, caller: caller)
        return json(.ok, JSONObject([("request_id", .string(id))]))
    }

    /// The reference's `/task` body (capitalised keys since July 2020).
    func referenceStatus(_ summary: JobSummary, host: String) -> JSONObject {
        let requestStatus = summary.status == .created ? "running" : summary.status.rawValue
        let message: JSONValue
        if summary.status == .completed {
            message = .object(JSONObject([
                ("num_failed_shards", .int(0)),
                ("output_file_urls", .object(JSONObject([("detections", .string("http://\(host)/v1/jobs/\(summary.id)/results"))]))),
            ]))
        } else {
            message = .string(summary.message.isEmpty ? "\(summary.done) of \(summary.total) images processed" : summary.message)
        }
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        return JSONObject([
            ("Status", .object(JSONObject([("request_status", .string(requestStatus)), ("message", message),
                                           ("time", .string(formatter.string(from: summary.updated)))]))),
            ("Timestamp", .string(formatter.string(from: summary.created))),
            ("Endpoint", .string("\(Self.referencePrefix)/request_detections")),
            ("TaskId", .string(summary.id)),
        ])
    }
}
