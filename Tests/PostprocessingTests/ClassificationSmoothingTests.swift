import Foundation
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// `smooth-classifications` against the reference's smooth_classification_results_image_level and
/// _sequence_level (Tests/Fixtures/postprocessing/generate_classification_postprocessing_fixtures.py:
/// 42 photos built to reach every rule, default and custom options, with and without taxonomy
/// descriptions, per photo and per sequence). The files must be byte-identical: smoothing only
/// rewrites category ids, so there is no numeric tolerance to allow.
struct ClassificationSmoothingTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing")

    /// Our flags for the manifest's option sets (the reference's option names, same values).
    static let optionSets: [String: [String]] = [
        "default": [],
        "custom_strict": ["--min-detections-to-overwrite-secondary", "3", "--max-detections-nondominant-class", "2",
                          "--min-detections-to-overwrite-secondary-same-family", "2", "--max-detections-nondominant-class-same-family", "1",
                          "--min-detections-to-overwrite-other", "3", "--other-category-names", "animal,blank,unknown",
                          "--classification-confidence-threshold", "0.6", "--detection-confidence-threshold", "0.2",
                          "--no-taxonomy-propagation", "--no-pre-smoothing-description", "--detection-category-names-to-smooth", "all"],
        "custom_weights": ["--taxonomy-propagation-level-weight", "0.5", "--taxonomy-propagation-count-weight", "1.0",
                           "--max-detections-nondominant-class-same-family", "1"],
    ]

    static func smoothingCases() throws -> [String] {
        let manifest = try Fixtures.jsonObject(at: folder.appendingPathComponent("classification_manifest.json"))
        let cases = (manifest["cases"] as? [String: Any] ?? [:]).keys.filter { !$0.hasPrefix("restrict") }.sorted()
        guard cases.count >= 6 else { throw Fixtures.FixtureError.missing("classification_manifest.json lists \(cases.count) smoothing cases") }
        return cases
    }

    @Test(arguments: try smoothingCases())
    func sameFileAsTheReference(_ name: String) throws {
        let manifest = try Fixtures.jsonObject(at: Self.folder.appendingPathComponent("classification_manifest.json"))
        let entry = try #require((manifest["cases"] as? [String: Any])?[name] as? [String: Any])
        let input = try #require(entry["input"] as? String), expected = try #require(entry["expected"] as? String)
        let options = try #require(Self.optionSets[entry["option_set"] as? String ?? ""], "option set of \(name)")
        let sequences = name.hasPrefix("sequence") ? ["--sequences", Self.folder.appendingPathComponent("classification_sequences_cct.json").path] : []
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-smooth-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let run = try Fixtures.runCLI(["smooth-classifications", Self.folder.appendingPathComponent(input).path, output.path] + options + sequences)
        #expect(run.status == 0, "\(run.stderr)")
        let ours = try Data(contentsOf: output), reference = try Data(contentsOf: Self.folder.appendingPathComponent(expected))
        #expect(ours == reference, "\(name): our file differs from the reference's")
        // The case changes something: the fixture is not a no-op.
        #expect(ours != (try Data(contentsOf: Self.folder.appendingPathComponent(input))))
    }

    @Test func refusesFilesItCannotSmoothNamingTheProblem() throws {
        var document = try ResultsInput.loadDocument(Self.folder.appendingPathComponent("classification_input.json").path)
        var options = ClassificationSmoothing.Options()
        options.detectionCategoryNamesToSmooth = ["badger"]
        #expect(throws: ClassificationSmoothing.Failure.self) { try ClassificationSmoothing.imageLevel(document, options: options) }
        document["classification_categories"] = nil
        let error = #expect(throws: ClassificationSmoothing.Failure.self) { try ClassificationSmoothing.imageLevel(document) }
        #expect("\(error.map { "\($0)" } ?? "")".contains("classification_categories"))
    }
}
