import Detection
import Foundation
import ResultsFormat
import Testing

struct ModelRegistryTests {
    @Test func namesAndVersionsFollowTheReference() {
        #expect(ModelRegistry.knownModel(named: "MDV5A")?.fileName == "md_v5a.0.1.pt")
        #expect(ModelRegistry.knownModel(named: "mdv5b")?.md5 == "f17ed6fedfac2e403606a08c89984905")
        #expect(ModelRegistry.knownModel(named: "default")?.version == "v5a.0.1")
        #expect(ModelRegistry.knownModel(named: "MDV4")?.fileName == "md_v4.1.0.pb")
        #expect(ModelRegistry.version(fromFileName: "/models/md_v5a.0.1.pt") == "v5a.0.1")
        #expect(ModelRegistry.version(fromFileName: "md_v5b.0.0.pt") == "v5b.0.1")
        #expect(ModelRegistry.version(fromFileName: "yolov5_p6_tiny.pt") == "unknown")
        let metadata = ModelRegistry.detectorMetadata(version: "v5a.0.1")
        #expect(metadata["typical_detection_threshold"] == .double(0.2))
        #expect(metadata["conservative_detection_threshold"] == .double(0.05))
        #expect(metadata.keys.last == "megadetector_version")
        #expect(ModelRegistry.detectorMetadata(version: "unknown")["conservative_detection_threshold"] == .double(0.1))
    }

    @Test func offlineErrorSaysWhichFileToPutWhere() throws {
        setenv("MEGADETECTOR_MODEL_DIR", "/nonexistent/md-cache", 1)
        defer { unsetenv("MEGADETECTOR_MODEL_DIR") }
        do {
            _ = try ModelRegistry.resolve("MDV5B", download: false)
            Issue.record("resolved a model that is not there")
        } catch {
            let message = "\(error)"
            #expect(message.contains("md_v5b.0.1.pt"))
            #expect(message.contains("/nonexistent/md-cache"))
            #expect(message.contains("MDV5B=/path/to/md_v5b.0.1.pt"))
        }
        #expect(throws: ModelRegistry.Failure.self) { try ModelRegistry.resolve("not-a-model") }
    }

    @Test func cachedFileIsCheckedAgainstItsMD5() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-cache-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data("not the model".utf8).write(to: folder.appendingPathComponent("md_v5a.0.1.pt"))
        setenv("MEGADETECTOR_MODEL_DIR", folder.path, 1)
        defer { unsetenv("MEGADETECTOR_MODEL_DIR") }
        #expect(throws: ModelRegistry.Failure.self) { try ModelRegistry.resolve("MDV5A", download: false) }
    }
}
