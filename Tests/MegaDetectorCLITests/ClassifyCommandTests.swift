import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `megadetector classify` against the reference's `run_md_and_speciesnet --detections_file` on the same
/// detections, photos and SpeciesNet model folder (Tests/Fixtures/speciesnet): every detection's
/// classifications, the category ids and names and their descriptions equal the reference's.
struct ClassifyCommandTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/speciesnet")

    @Test(.requires(.shared), arguments: [("default", [String]()), ("usa_ca", ["--country", "USA", "--admin1-region", "CA"]),
                                          ("gbr_norollup_raw", ["--country", "GBR", "--no-rollup", "--include-raw-classifications"])])
    func classificationsEqualTheReferences(_ name: String, _ options: [String]) throws {
        let shared = try Fixtures.requireShared()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-classify-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let run = try Fixtures.runCLI(["classify", Self.folder.appendingPathComponent("md_detections_camera_traps.json").path,
                                       shared.appendingPathComponent("images").path, output,
                                       "--classifier", Self.folder.appendingPathComponent("model").path] + options)
        #expect(run.status == 0, "\(run.stderr)")
        let ours = try ResultsFile.read(path: output)
        let expected = try ResultsFile.read(path: Self.folder.appendingPathComponent("expected_md_speciesnet_\(name).json").path)
        #expect(ours.classificationCategories.map { $0.map { "\($0.0)=\($0.1)" } } == expected.classificationCategories.map { $0.map { "\($0.0)=\($0.1)" } })
        #expect(ours.classificationCategoryDescriptions.map { $0.map(\.1) } == expected.classificationCategoryDescriptions.map { $0.map(\.1) })
        #expect(ours.images.map(\.file) == expected.images.map(\.file))
        #expect(Self.compareDetections(ours, expected) > 100)
        #expect(ours.info["classifier"]?.string?.hasSuffix("speciesnet/model") == true)
    }

    /// Clips: each detection is cropped from its frame, read as the detector read it (rotated clip included).
    @Test func clipDetectionsAreClassifiedFromTheirFrames() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-classify-clips-\(UUID().uuidString).json").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        let run = try Fixtures.runCLI(["classify", VideoDetectTests.fixtures.appendingPathComponent("expected_frame_sample_10.json").path,
                                       VideoDetectTests.clips.path, output, "--classifier", Self.folder.appendingPathComponent("model").path,
                                       "--detection-threshold", "0.005"])
        #expect(run.status == 0, "\(run.stderr)")
        let ours = try ResultsFile.read(path: output)
        let expected = try ResultsFile.read(path: Self.folder.appendingPathComponent("expected_md_speciesnet_clips.json").path)
        #expect(ours.classificationCategoryDescriptions.map { $0.map(\.1) } == expected.classificationCategoryDescriptions.map { $0.map(\.1) })
        #expect(Self.compareDetections(ours, expected) > 100)
    }

    /// Expects every detection equal to the reference's (classifications included); returns how many
    /// the reference classified.
    static func compareDetections(_ ours: ResultsFile, _ expected: ResultsFile) -> Int {
        var classified = 0
        for (mine, theirs) in zip(ours.images, expected.images) {
            for (a, b) in zip(mine.detections ?? [], theirs.detections ?? []) {
                if b.classifications != nil { classified += 1 }
                #expect(a.json == b.json, "\(mine.file): \(a.json) vs \(b.json)")
            }
        }
        return classified
    }

    @Test func badGeofenceArgumentsAreRefused() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-classify-\(UUID().uuidString).json").path
        let base = ["classify", Self.folder.appendingPathComponent("md_detections_camera_traps.json").path, "/nonexistent", output,
                    "--classifier", Self.folder.appendingPathComponent("model").path]
        let region = try Fixtures.runCLI(base + ["--admin1-region", "CA"])
        #expect(region.status != 0 && region.stderr.contains("--admin1-region needs --country"), "\(region.stderr)")
        let country = try Fixtures.runCLI(base + ["--country", "US"])
        #expect(country.status != 0 && country.stderr.contains("invalid country or region code US"), "\(country.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
