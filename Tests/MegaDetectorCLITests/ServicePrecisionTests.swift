import Foundation
import ResultsFormat
import Testing
import TestSupport

/// Jobs that ask for a precision: what the service allows, and int8 with the model's installed
/// calibration giving what `detect --precision int8` gives with the same table.
@Suite(.serialized) struct ServicePrecisionTests {
    @Test(.enabled(if: PrecisionCommandTests.hasAVX2, "oneDNN's int8 kernels need AVX2"))
    func int8JobsNeedTheInstalledCalibrationAndMatchDetect() async throws {
        let models = FileManager.default.temporaryDirectory.appendingPathComponent("md-service-int8-\(UUID().uuidString)")
        let environment = ["MEGADETECTOR_MODEL_DIR": models.path]
        let server = try ServeCommandTests.Server(extra: ["--precisions", "fp32,int8"], environment: environment)
        try await server.waitUntilUp()
        let listed = try await server.request("GET", "/v1/models").1
        #expect(listed?.object?["precisions"] == .array([.string("fp32"), .string("int8")]))
        let refused = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "precision": "bf16"}"#)
        #expect(refused.0 == 400)
        #expect(refused.1?.object?["error"]?.string?.contains("this service allows [\"fp32\", \"int8\"]") == true, "\(String(describing: refused.1))")

        // No calibration installed yet: the job ends failed, saying how to install one.
        let (_, early, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "precision": "int8"}"#)
        let earlyId = try #require(early?.object?["id"]?.string)
        #expect(early?.object?["precision"]?.string == "int8")
        let failed = try await server.waitFor(job: earlyId, status: "failed")
        #expect(failed?.object?["message"]?.string?.contains("--install") == true, "\(String(describing: failed))")

        let install = try Fixtures.runCLI(["calibrate", ServeCommandTests.model, ServeCommandTests.photos, "--install"], environment: environment)
        #expect(install.status == 0, "\(install.stderr)")
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": ".", "precision": "int8"}"#)
        #expect(status == 201)
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitFor(job: id, status: "completed")
        let (_, _, data) = try await server.request("GET", "/v1/jobs/\(id)/results")
        let servedPath = server.folder.appendingPathComponent("served-int8.json")
        try data.write(to: servedPath)
        let served = try ResultsFile.read(path: servedPath.path)
        #expect(served.info["detector_metadata"]?.object?["precision"]?.string == "int8")

        let output = server.folder.appendingPathComponent("detect-int8.json").path
        let detect = try Fixtures.runCLI(["detect", ServeCommandTests.model, ServeCommandTests.photos, output, "--precision", "int8", "--quiet"],
                                         environment: environment)
        #expect(detect.status == 0 && detect.stderr.contains("using the cached calibration"), "\(detect.stderr)")
        let expected = try ResultsFile.read(path: output)
        #expect(served.images.map(\.file) == expected.images.map(\.file))
        #expect(ResultsComparer.compare(served, expected).identicalImages == expected.images.count)
    }
}
