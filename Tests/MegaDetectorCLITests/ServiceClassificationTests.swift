import Foundation
import ResultsFormat
import Testing
import TestSupport

/// Jobs that ask for a classifier: the results file the service writes equals `detect --classifier` on the
/// same photos (whose labels equal run_md_and_speciesnet's, DetectWithClassifierTests and
/// ClassifyCommandTests), categories numbered over the whole file; unknown classifiers and stray
/// geofence fields are refused.
struct ServiceClassificationTests {
    @Test(.requires(.shared)) func jobsWithAClassifierGiveWhatDetectGives() async throws {
        let model = ClassifyCommandTests.folder.appendingPathComponent("model").path
        let server = try ServeCommandTests.Server(extra: ["--classifier", model, "--shard-size", "7"])
        try await server.waitUntilUp()
        // Under one of the service's roots (the folder it made for this test).
        let photos = server.folder.appendingPathComponent("camera-traps")
        try FileManager.default.copyItem(at: try Fixtures.requireShared().appendingPathComponent("images/camera-traps"), to: photos)
        let (_, models, _) = try await server.request("GET", "/v1/models")
        #expect(models?.object?["classifiers"]?.array == [.string("model")])

        let unknown = try await server.request("POST", "/v1/jobs", body: #"{"folder": "\#(photos.path)", "classifier": "other"}"#)
        #expect(unknown.0 == 400)
        let stray = try await server.request("POST", "/v1/jobs", body: #"{"folder": "\#(photos.path)", "country": "GBR"}"#)
        #expect(stray.0 == 400)
        let (status, created, _) = try await server.request("POST", "/v1/jobs",
                                                            body: #"{"folder": "\#(photos.path)", "classifier": "model", "country": "GBR"}"#)
        #expect(status == 201, "\(String(describing: created))")
        #expect(created?.object?["classifier"]?.string == "model")
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitFor(job: id, status: "completed")
        let (_, _, data) = try await server.request("GET", "/v1/jobs/\(id)/results")
        let servedPath = server.folder.appendingPathComponent("served-species.json")
        try data.write(to: servedPath)
        let served = try ResultsFile.read(path: servedPath.path)

        let output = server.folder.appendingPathComponent("detect-species.json").path
        let detect = try Fixtures.runCLI(["detect", ServeCommandTests.model, photos.path, output, "--classifier", model, "--country", "GBR", "--quiet"])
        #expect(detect.status == 0, "\(detect.stderr)")
        let expected = try ResultsFile.read(path: output)
        #expect(served.classificationCategories?.map(\.1) == expected.classificationCategories?.map(\.1))
        #expect(served.classificationCategoryDescriptions?.map(\.1) == expected.classificationCategoryDescriptions?.map(\.1))
        #expect(served.info["classifier"]?.string == "model")
        let byName = { (file: ResultsFile) in Dictionary(uniqueKeysWithValues: file.images.map { (($0.file as NSString).lastPathComponent, $0) }) }
        let servedByName = byName(served), expectedByName = byName(expected)
        #expect(servedByName.count == expectedByName.count && !servedByName.isEmpty)
        var classified = 0
        for (name, entry) in expectedByName {
            var mine = try #require(servedByName[name])
            mine.file = entry.file
            #expect(mine == entry, "\(name)")
            classified += (entry.detections ?? []).filter { $0.classifications != nil }.count
        }
        #expect(classified > 10)
    }
}
