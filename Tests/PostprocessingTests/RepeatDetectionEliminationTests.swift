import Foundation
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// `megadetector rde find/remove` against the reference's find_repeat_detections and
/// remove_repeat_detections on a results file with planted repeated boxes: the same suspicious groups,
/// and the same detections negated, with the review folder kept whole and with one group deleted.
struct RepeatDetectionEliminationTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing")
    static func expected() throws -> [String: Any] { try Fixtures.jsonObject(at: folder.appendingPathComponent("expected_rde.json")) }

    static func negated(_ path: String) throws -> [[String]] {
        let results = try ResultsFile.read(path: path)
        return results.images.flatMap { image in
            (image.detections ?? []).enumerated().filter { $0.element.conf < 0 }.map { [image.file, String($0.offset)] }
        }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    /// The detections the reference negated in case `name`; throws when the fixture lacks them.
    static func expectedNegated(_ name: String) throws -> [[String]] {
        guard let pairs = ((try expected()["cases"] as? [String: [String: Any]])?[name]?["negated"] as? [[Any]]), !pairs.isEmpty else {
            throw Fixtures.FixtureError.missing("expected_rde.json has no negated detections for \(name)")
        }
        return pairs.map { ["\($0[0])", "\($0[1])"] }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test(.requires(.shared)) func findAndRemoveMatchTheReference() throws {
        let shared = try Fixtures.requireShared()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("md-rde-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: work) }
        let input = Self.folder.appendingPathComponent("rde_input.json").path
        let find = try Fixtures.runCLI(["rde", "find", input, "--image-folder", shared.appendingPathComponent("images").path,
                                        "--output-dir", work.path])
        #expect(find.status == 0, "\(find.stderr)")
        #expect(find.stdout.contains("Found 2 suspicious detections (60 boxes)"))
        let review = try #require(try FileManager.default.contentsOfDirectory(at: work, includingPropertiesForKeys: nil).first)
        let photos = try FileManager.default.contentsOfDirectory(atPath: review.path).filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(photos == ["dir0000_det0000_n0035.jpg", "dir0000_det0001_n0025.jpg"])

        let kept = work.appendingPathComponent("kept.json").path
        let remove = try Fixtures.runCLI(["rde", "remove", input, kept, "--filtering-dir", review.path])
        #expect(remove.status == 0, "\(remove.stderr)")
        #expect(try Self.negated(kept) == Self.expectedNegated("all_kept"))

        // The user decides the vehicle box (25 photos) is real: its review photo is deleted.
        try FileManager.default.removeItem(at: review.appendingPathComponent("dir0000_det0001_n0025.jpg"))
        let edited = work.appendingPathComponent("edited.json").path
        let again = try Fixtures.runCLI(["rde", "remove", input, edited, "--filtering-dir", review.path])
        #expect(again.status == 0)
        #expect(try Self.negated(edited) == Self.expectedNegated("vehicle_deleted"))
        #expect(try Self.negated(edited).count == 35)
    }

    /// The reference's folder filters: maxImagesPerFolder, includeFolders, excludeFolders.
    @Test func folderFiltersLeaveFoldersOut() throws {
        let results = try ResultsFile.read(path: Self.folder.appendingPathComponent("rde_input.json").path)
        let all = RepeatDetectionElimination.find(results, options: .init())
        #expect(all.count == 2 && Set(all.map(\.directory)) == ["camera-traps"])
        let photosInFolder = results.images.filter { $0.file.hasPrefix("camera-traps/") }.count
        var options = RepeatDetectionElimination.Options()
        options.maxImagesPerFolder = photosInFolder
        #expect(RepeatDetectionElimination.find(results, options: options).count == 2)
        options.maxImagesPerFolder = photosInFolder - 1
        #expect(RepeatDetectionElimination.find(results, options: options).isEmpty)
        options = .init()
        options.includeFolders = ["camera-traps"]
        #expect(RepeatDetectionElimination.find(results, options: options).count == 2)
        options.includeFolders = ["elsewhere"]
        #expect(RepeatDetectionElimination.find(results, options: options).isEmpty)
        options = .init()
        options.excludeFolders = ["camera-traps"]
        #expect(RepeatDetectionElimination.find(results, options: options).isEmpty)
        let both = try Fixtures.runCLI(["rde", "find", Self.folder.appendingPathComponent("rde_input.json").path, "--image-folder", "/tmp",
                                        "--output-dir", "/tmp", "--include-folders", "a", "--exclude-folders", "b"])
        #expect(both.status == 1 && both.stderr.contains("mutually exclusive"))
    }

    @Test func removeNeedsAReviewFolder() throws {
        let input = Self.folder.appendingPathComponent("rde_input.json").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-rde-\(UUID().uuidString).json").path
        let result = try Fixtures.runCLI(["rde", "remove", input, output, "--filtering-dir", "/nonexistent"])
        #expect(result.status == 1 && result.stderr.contains("detectionIndex.json"))
    }
}
