import Foundation
import ResultsFormat
import Testing
import TestSupport

/// The reference batch API's paths, inputs and status shapes, as its documentation gives them.
@Suite(.serialized) struct ReferenceAPITests {
    static let prefix = "/v4/camera-trap/detection-batch"

    @Test func requestPollDownload() async throws {
        let server = try ServeCommandTests.Server()
        try await server.waitUntilUp()
        let body = "{\"input_container_sas\": \"\(ServeCommandTests.photos)\", \"caller\": \"tester\", \"first_n\": 3, \"request_name\": \"ref\"}"
        let (status, created, _) = try await server.request("POST", "\(Self.prefix)/request_detections", body: body)
        #expect(status == 200)
        let id = try #require(created?.object?["request_id"]?.string)

        var task: JSONObject?
        for _ in 0..<600 {
            task = try await server.request("GET", "\(Self.prefix)/task/\(id)").1?.object
            if task?["Status"]?.object?["request_status"]?.string == "completed" { break }
            try await Task.sleep(nanoseconds: 100_000_000)
        }
        let status_ = try #require(task?["Status"]?.object)
        #expect(status_["request_status"]?.string == "completed")
        #expect(task?["TaskId"]?.string == id)
        #expect(status_["message"]?.object?["num_failed_shards"]?.number == 0)
        let url = try #require(status_["message"]?.object?["output_file_urls"]?.object?["detections"]?.string)
        let path = try #require(URL(string: url)?.path)
        let (_, results, _) = try await server.request("GET", path)
        let files = results?.object?["images"]?.array?.compactMap { $0.object?["file"]?.string }
        // Relative to the container, like the reference; first 3 of the .jpg/.jpeg/.png photos.
        #expect(files == ["alpha.png", "exif_orientation_1.jpg", "exif_orientation_2.jpg"])
        let versions = try await server.request("GET", "\(Self.prefix)/supported_model_versions").1
        #expect(versions?.object?["supported_model_versions"]?.array == [.string("md_v5_tiny.pt")])
    }

    @Test func requestedListCallerCheckAndCancel() async throws {
        let server = try ServeCommandTests.Server(extra: ["--workers", "0"])
        try await server.waitUntilUp()
        let list = server.folder.appendingPathComponent("requested.json")
        try #"["gray.png", ["tiny_64x48.jpg", "site 4"], "notes.txt"]"#.write(to: list, atomically: true, encoding: .utf8)
        let container = ServeCommandTests.photos
        let wrongCaller = "{\"input_container_sas\": \"\(container)\", \"caller\": \"someone-else\"}"
        #expect(try await server.request("POST", "\(Self.prefix)/request_detections", body: wrongCaller).0 == 403)
        #expect(try await server.request("POST", "\(Self.prefix)/request_detections", body: #"{"caller": "tester"}"#).0 == 400)
        let url = #"{"input_container_sas": "https://example.blob.core.windows.net/c?sig=x", "caller": "tester"}"#
        #expect(try await server.request("POST", "\(Self.prefix)/request_detections", body: url).0 == 403)

        let body = "{\"input_container_sas\": \"\(container)\", \"images_requested_json_sas\": \"\(list.path)\", \"caller\": \"tester\"}"
        let missing = try await server.request("POST", "\(Self.prefix)/request_detections", body: body)
        #expect(missing.0 == 403, "notes.txt does not exist, so the request is refused: \(missing.1.map { JSONWriter.serialize($0) } ?? "")")
        try #"["gray.png", ["tiny_64x48.jpg", "site 4"]]"#.write(to: list, atomically: true, encoding: .utf8)
        let (status, created, _) = try await server.request("POST", "\(Self.prefix)/request_detections", body: body)
        #expect(status == 200)
        let id = try #require(created?.object?["request_id"]?.string)
        #expect(try await server.request("GET", "/v1/jobs/\(id)").1?.object?["photos"]?.number == 2)
        #expect(try await server.request("GET", "\(Self.prefix)/task/\(id)").1?.object?["Status"]?.object?["request_status"]?.string == "running")
        #expect(try await server.request("POST", "\(Self.prefix)/cancel_request", body: "{\"request_id\": \"\(id)\", \"caller\": \"tester\"}").0 == 200)
        #expect(try await server.request("GET", "\(Self.prefix)/task/\(id)").1?.object?["Status"]?.object?["request_status"]?.string == "canceled")
    }
}
