import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `detect --classifier` is run_md_and_speciesnet in one command: its file equals `detect` followed by
/// `classify` on the same photos (whose classifications equal the reference's, ClassifyCommandTests).
struct DetectWithClassifierTests {
    @Test(.requires(.shared)) func detectWithClassifierEqualsDetectThenClassify() throws {
        let shared = try Fixtures.requireShared()
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-detect-classify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = shared.appendingPathComponent("images/camera-traps").path
        let model = ClassifyCommandTests.folder.appendingPathComponent("model").path
        let combined = folder.appendingPathComponent("combined.json").path
        let one = try Fixtures.runCLI(["detect", DetectCommandTests.model, photos, combined, "--recursive", "--output-relative-filenames",
                                       "--classifier", model, "--country", "GBR", "--quiet"])
        #expect(one.status == 0, "\(one.stderr)")
        #expect(one.stdout.contains("Classified"), "\(one.stdout)")
        let detections = folder.appendingPathComponent("detections.json").path, twoStep = folder.appendingPathComponent("two-step.json").path
        #expect(try Fixtures.runCLI(["detect", DetectCommandTests.model, photos, detections, "--recursive", "--output-relative-filenames",
                                     "--quiet"]).status == 0)
        let two = try Fixtures.runCLI(["classify", detections, photos, twoStep, "--classifier", model, "--country", "GBR"])
        #expect(two.status == 0, "\(two.stderr)")
        let a = try ResultsFile.read(path: combined), b = try ResultsFile.read(path: twoStep)
        #expect(a.images.map(\.json) == b.images.map(\.json))
        #expect(a.classificationCategories?.map(\.1) == b.classificationCategories?.map(\.1))
        #expect(a.images.contains { ($0.detections ?? []).contains { $0.classifications != nil } })
    }

    @Test func classifierNamesResolveOrSayWhereToPutTheFiles() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-detect-classify-\(UUID().uuidString).json").path
        let cache = FileManager.default.temporaryDirectory.appendingPathComponent("md-empty-cache-\(UUID().uuidString)").path
        let run = try Fixtures.runCLI(["detect", DetectCommandTests.model, DetectCommandTests.fixtures.appendingPathComponent("synthetic").path,
                                       output, "--classifier", "kaggle:google/speciesnet/pyTorch/v4.0.2b/1"],
                                      environment: ["MEGADETECTOR_MODEL_DIR": cache, "SPECIESNET": ""])
        #expect(run.status != 0)
        #expect(run.stderr.contains("\(cache)/speciesnet/v4.0.2b"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
        let named = try Fixtures.runCLI(["detect", DetectCommandTests.model, DetectCommandTests.fixtures.appendingPathComponent("synthetic").path,
                                         output, "--classifier", "SPECIESNET", "--quiet"],
                                        environment: ["SPECIESNET": ClassifyCommandTests.folder.appendingPathComponent("model").path])
        #expect(named.status == 0, "\(named.stderr)")
        #expect(try ResultsFile.read(path: output).classificationCategories != nil)
        try? FileManager.default.removeItem(atPath: output)
    }
}
