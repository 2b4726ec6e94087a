import Foundation
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// `megadetector compare --html` against the reference's compare_batch_results (no ground truth):
/// every photo in the same class.
struct ResultsComparisonReportTests {
    @Test func classesMatchTheReference() throws {
        let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing")
        let data = try Data(contentsOf: folder.appendingPathComponent("expected_compare.json"))
        let entry = try #require((try JSONSerialization.jsonObject(with: data) as? [String: Any])?["case"] as? [String: Any])
        let expected = try #require(entry["classes"] as? [String: [String]])
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-compare-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        var arguments = ["compare", Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_shared.json").path,
                         folder.appendingPathComponent("merge_source.json").path, "--html", output.path]
        arguments += try #require(entry["our_arguments"] as? [String])
        if let shared = Fixtures.shared { arguments += ["--images-dir", shared.appendingPathComponent("images").path] }
        let result = try Fixtures.runCLI(arguments)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(!expected.isEmpty)
        for (name, files) in expected {
            let page = try String(contentsOf: output.appendingPathComponent("pair_0_1/\(name).html"), encoding: .utf8)
            let shown = page.components(separatedBy: "<figcaption>").dropFirst().map { String($0.prefix { $0 != "<" }) }
            let notRendered = page.components(separatedBy: "<p>").dropFirst().compactMap { part -> String? in
                part.contains(": not rendered") ? String(part.prefix { $0 != ":" }) : nil
            }
            #expect((shown + notRendered).sorted() == files.sorted(), "\(name)")
            // With the photos at hand (../shared) every one is rendered; without them each is named as not rendered.
            #expect(Fixtures.shared == nil ? shown.isEmpty : notRendered.isEmpty, "\(name): shown \(shown), not rendered \(notRendered)")
        }
        let index = try String(contentsOf: output.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("pair_0_1/class_transitions.html\">Detections reported as different classes by models A and B</a>: 16"))
    }

    @Test func classificationRules() {
        let animal = DetectionResult(category: "1", conf: 0.9, bbox: [0, 0, 0.1, 0.1])
        let person = DetectionResult(category: "2", conf: 0.9, bbox: [0, 0, 0.1, 0.1])
        let weak = DetectionResult(category: "1", conf: 0.1, bbox: [0, 0, 0.1, 0.1])
        func image(_ detections: [DetectionResult]) -> ImageResult { ImageResult(file: "a.jpg", detections: detections) }
        #expect(ResultsComparisonReport.classify(image([animal]), image([animal]), thresholdA: 0.5, thresholdB: 0.5) == "common_detections")
        #expect(ResultsComparisonReport.classify(image([animal]), image([person]), thresholdA: 0.5, thresholdB: 0.5) == "class_transitions")
        #expect(ResultsComparisonReport.classify(image([weak]), image([]), thresholdA: 0.5, thresholdB: 0.5) == "common_non_detections")
        #expect(ResultsComparisonReport.classify(image([weak]), image([]), thresholdA: 0.05, thresholdB: 0.5) == "detections_a_only")
        #expect(ResultsComparisonReport.classify(image([]), image([person]), thresholdA: 0.5, thresholdB: 0.5) == "detections_b_only")
    }
}
