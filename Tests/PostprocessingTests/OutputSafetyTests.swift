import Foundation
import Testing
import TestSupport

/// What every post-processing command promises about files: an existing output is replaced only with
/// --overwrite, never when it is an input; inputs are left byte for byte as they were; malformed input
/// is refused naming the position; a repeat-detection review that cannot show its groups fails.
struct OutputSafetyTests {
    static let results = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_shared.json").path
    static let mergeSource = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/merge_source.json").path

    static func workFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-safety-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func existingOutputsAndInputsAreNeverReplaced() throws {
        let work = try Self.workFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let input = work.appendingPathComponent("results.json").path
        try FileManager.default.copyItem(atPath: Self.results, toPath: input)
        let before = try Data(contentsOf: URL(fileURLWithPath: input))
        let existing = work.appendingPathComponent("existing.json").path
        try Data("keep me".utf8).write(to: URL(fileURLWithPath: existing))
        let pages = work.appendingPathComponent("pages")
        try FileManager.default.createDirectory(at: pages, withIntermediateDirectories: true)
        try Data("keep me".utf8).write(to: pages.appendingPathComponent("index.html"))
        let runs: [([String], String)] = [
            (["crops", input, work.path, work.appendingPathComponent("crops").path, "--output-file", input], "is the input"),
            (["combine", input, Self.mergeSource, existing], "exists (use --overwrite)"),
            (["combine", input, Self.mergeSource, input, "--overwrite"], "is the input"),
            (["merge", Self.mergeSource, input, existing], "exists (use --overwrite)"),
            (["convert", input, existing, "--to", "csv"], "exists (use --overwrite)"),
            (["convert", input, input, "--to", "coco", "--overwrite"], "is the input"),
            (["compare", input, Self.mergeSource, "--html", pages.path], "exists (use --overwrite)"),
        ]
        for (arguments, message) in runs {
            let run = try Fixtures.runCLI(arguments)
            #expect(run.status == 1 && run.stderr.contains(message), "\(arguments[0]): \(run.stderr)")
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: input)) == before, "the input is unchanged")
        #expect(try String(contentsOfFile: existing, encoding: .utf8) == "keep me")
        #expect(try String(contentsOf: pages.appendingPathComponent("index.html"), encoding: .utf8) == "keep me")
    }

    @Test func malformedLegacyCSVIsRefusedNamingTheLine() throws {
        let work = try Self.workFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let header = "image_path,max_confidence,detections\n"
        let good = "a.jpg,0.9,\"[[0.1, 0.2, 0.3, 0.4, 0.9, 1]]\"\n"
        let cases = [(header + good + "broken,row\n", "CSV line 3: 2 fields, the header has 3"),
                     (header + "b.jpg,0.5,\"[[0.1, 0.2, 0.3, 0.4, 0.5, 7]]\"\n", "CSV line 2: category 7.0 is not a MegaDetector category")]
        for (index, (text, message)) in cases.enumerated() {
            let csv = work.appendingPathComponent("in\(index).csv")
            try Data(text.utf8).write(to: csv)
            let output = work.appendingPathComponent("out\(index).json").path
            let run = try Fixtures.runCLI(["convert", csv.path, output, "--to", "json"])
            #expect(run.status == 1 && run.stderr.contains(message), "\(run.stderr)")
            #expect(!FileManager.default.fileExists(atPath: output))
        }
        // Blank lines are not rows.
        let csv = work.appendingPathComponent("blank.csv")
        try Data((header + good + "\n").utf8).write(to: csv)
        let run = try Fixtures.runCLI(["convert", csv.path, work.appendingPathComponent("blank.json").path, "--to", "json"])
        #expect(run.status == 0, "\(run.stderr)")
    }

    /// With the photos missing (a wrong --image-folder) no group can be shown: `rde find` fails saying so,
    /// and `rde remove` on that folder changes nothing (unreviewed groups keep their detections).
    @Test func repeatDetectionReviewThatCannotShowItsGroupsFails() throws {
        let work = try Self.workFolder()
        defer { try? FileManager.default.removeItem(at: work) }
        let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/rde_input.json").path
        let find = try Fixtures.runCLI(["rde", "find", input, "--image-folder", work.appendingPathComponent("nowhere").path,
                                        "--output-dir", work.path])
        #expect(find.status == 1 && find.stderr.contains("could not be shown"), "\(find.stderr)")
        let review = try #require(try FileManager.default.contentsOfDirectory(atPath: work.path).first { $0.hasPrefix("filtering_") })
        let output = work.appendingPathComponent("cleaned.json").path
        let remove = try Fixtures.runCLI(["rde", "remove", input, output, "--filtering-dir", work.appendingPathComponent(review).path])
        #expect(remove.status == 0 && remove.stdout.contains("Removed 0 detections"), "\(remove.stdout) \(remove.stderr)")
    }
}
