import Foundation
import Imaging
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// The report's numbers on a small results file whose precision, recall and counts are worked out by
/// hand (and agree with scikit-learn, which the reference uses).
struct BatchReportTests {
    /// Six photos: scores 0.9 (animal, labelled animal), 0.8 (person, labelled empty), 0.7 (labelled
    /// deer), 0.3 (labelled deer), 0.1 (labelled empty), none (labelled empty), plus a failure and an
    /// unlabelled photo.
    func fixture() throws -> (results: String, truth: String, folder: URL) {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-report-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        func detection(_ category: String, _ conf: Double) -> String {
            "{\"category\": \"\(category)\", \"conf\": \(conf), \"bbox\": [0.1, 0.1, 0.2, 0.2]}"
        }
        let images = [
            ("a.jpg", [detection("1", 0.9)]), ("b.jpg", [detection("2", 0.8)]), ("c.jpg", [detection("1", 0.7)]),
            ("d.jpg", [detection("1", 0.3)]), ("e.jpg", [detection("3", 0.1)]), ("f.jpg", []), ("u.jpg", [detection("1", 0.95)]),
        ].map { "{\"file\": \"\($0.0)\", \"detections\": [\($0.1.joined(separator: ", "))]}" }
            + ["{\"file\": \"g.jpg\", \"failure\": \"image access failure\", \"detections\": null}"]
        let results = """
            {"images": [\(images.joined(separator: ", "))], "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
             "info": {"format_version": "1.6", "detector": "test", "detector_metadata": {"typical_detection_threshold": 0.5}}}
            """
        let truth = """
            {"images": [{"id": "a", "file_name": "a.jpg"}, {"id": "b", "file_name": "b.jpg"}, {"id": "c", "file_name": "c.jpg"},
                        {"id": "d", "file_name": "d.jpg"}, {"id": "e", "file_name": "e.jpg"}, {"id": "f", "file_name": "f.jpg"},
                        {"id": "u", "file_name": "u.jpg"}],
             "annotations": [{"id": 1, "image_id": "a", "category_id": 1}, {"id": 2, "image_id": "b", "category_id": 0},
                             {"id": 3, "image_id": "c", "category_id": 2}, {"id": 4, "image_id": "d", "category_id": 2},
                             {"id": 5, "image_id": "e", "category_id": 0}, {"id": 6, "image_id": "f", "category_id": 0},
                             {"id": 7, "image_id": "u", "category_id": 3}],
             "categories": [{"id": 0, "name": "empty"}, {"id": 1, "name": "animal"}, {"id": 2, "name": "deer"}, {"id": 3, "name": "unknown"}]}
            """
        let resultsPath = folder.appendingPathComponent("results.json"), truthPath = folder.appendingPathComponent("truth.json")
        try Data(results.utf8).write(to: resultsPath)
        try Data(truth.utf8).write(to: truthPath)
        return (resultsPath.path, truthPath.path, folder)
    }

    static let standInPhoto = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/synthetic/tiny_64x48.jpg")

    /// The fixture with a small photo under each of its names, so the pages have images to load.
    func fixtureWithPhotos() throws -> (results: String, truth: String, folder: URL) {
        let made = try fixture()
        for name in ["a", "b", "c", "d", "e", "f", "u"] {
            try FileManager.default.copyItem(at: Self.standInPhoto, to: made.folder.appendingPathComponent("\(name).jpg"))
        }
        return made
    }

    @Test func countsPrecisionRecallAndThreshold() throws {
        let (results, truth, folder) = try fixture()
        defer { try? FileManager.default.removeItem(at: folder) }
        var options = BatchReport.Options(outputFolder: folder.appendingPathComponent("report").path)
        options.groundTruthPath = truth
        options.almostDetectionThreshold = 0.25
        let summary = try BatchReport.run(try ResultsFile.read(path: results), options: options)
        #expect(summary.threshold == 0.5)  // from the file's metadata
        #expect(summary.counts == ["detections_animal": 3, "detections_person": 1, "almost_detections": 1, "non_detections": 2, "failures": 1])
        // At 0.5: TP a, c; FP b; FN d; TN e, f (u is unlabelled, g failed).
        #expect(summary.confusion == [[2, 1], [1, 2]])
        #expect(summary.evaluationCounts == ["tp": 2, "fp": 1, "fn": 1, "tn": 2])
        let curve = try #require(summary.precisionRecall)
        #expect(curve.positives == 3 && curve.negatives == 3)
        // scikit-learn: thresholds [0, 0.1, 0.3, 0.7, 0.8, 0.9], precision [0.5, 0.6, 0.75, 0.667, 0.5, 1].
        #expect(curve.points.map(\.threshold) == [0.0, 0.1, 0.3, 0.7, 0.8, 0.9])
        #expect(curve.points.map(\.precision) == [0.5, 0.6, 0.75, 2.0 / 3.0, 0.5, 1.0])
        #expect(curve.points.map(\.recall) == [1.0, 1.0, 1.0, 2.0 / 3.0, 1.0 / 3.0, 1.0 / 3.0])
        #expect(abs(curve.averagePrecision - (1.0 / 3.0 + 2.0 / 9.0 + 0.25)) < 1e-12)  // 0.80556, as scikit-learn
        #expect(summary.atTargetRecall == PrecisionRecall.Point(threshold: 0.3, precision: 0.75, recall: 1.0))
        let index = try String(contentsOfFile: folder.appendingPathComponent("report/index.html").path, encoding: .utf8)
        #expect(index.contains("<a href=\"fp.html\">1</a>"))
        #expect(index.contains("precision_recall.svg"))
        let svg = try String(contentsOfFile: folder.appendingPathComponent("report/precision_recall.svg").path, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("<polyline"))
    }

    @Test(.requires(.shared)) func sharedPhotosReportWithRenderedPages() throws {
        let shared = try Fixtures.requireShared()
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let results = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_shared.json").path
        let run = try Fixtures.runCLI(["report", results, output.path, "--images-dir", shared.appendingPathComponent("images").path,
                                       "--num-images-to-sample", "20", "--sort-order", "confidence"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("non_detections 16"))
        for page in ["index.html", "detections_person.html", "non_detections.html", "failures.html"] {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(page).path), "\(page)")
        }
        // Every image a page shows exists.
        let pages = try FileManager.default.contentsOfDirectory(atPath: output.path).filter { $0.hasSuffix(".html") }
        var sourcesSeen = 0
        for page in pages {
            let html = try String(contentsOf: output.appendingPathComponent(page), encoding: .utf8)
            for source in html.components(separatedBy: "src=\"").dropFirst().map({ String($0.prefix { $0 != "\"" }) }) {
                sourcesSeen += 1
                #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent(source).path), "\(page): \(source)")
            }
        }
        #expect(sourcesSeen > 0, "no page shows an image")
    }
}

extension BatchReportTests {
    /// The generated pages in headless Chromium (scripts/check_report_pages.py): screenshots taken,
    /// every image loaded, no broken link. Runs where Chromium is installed (.ci/run installs it).
    @Test(.requires(.chromium), .requires(.python3)) func pagesLoadInChromium() throws {
        let (results, truth, folder) = try fixtureWithPhotos()
        defer { try? FileManager.default.removeItem(at: folder) }
        let report = folder.appendingPathComponent("report")
        let run = try Fixtures.runCLI(["report", results, report.path, "--images-dir", folder.path, "--ground-truth", truth])
        #expect(run.status == 0, "\(run.stderr)")
        let (status, text) = try Fixtures.runTool("/usr/bin/env", ["python3", Fixtures.repositoryRoot.appendingPathComponent("scripts/check_report_pages.py").path,
                                                                    report.path, "index.html", "detections_animal.html", "fp.html",
                                                                    "--screenshots", folder.appendingPathComponent("shots").path])
        #expect(status == 0, "\(text)")
        #expect(text.contains("detections_animal.html: 3 images, 0 not loaded"), "\(text)")
        #expect(text.contains("index.html: 1 images, 0 not loaded"), "\(text)")  // the precision/recall SVG
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("shots/index.png").path))
    }
}

extension BatchReportTests {
    /// Every confusion-matrix cell links to a page, also a 0; the almost-detections page shows the boxes
    /// that put photos there; `--num-images-to-sample -1` renders all.
    @Test func everyLinkedPageExistsAndAlmostDetectionsShowTheirBoxes() throws {
        let (results, truth, folder) = try fixtureWithPhotos()
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = Self.standInPhoto
        let report = folder.appendingPathComponent("report")
        // At threshold 1.0 nothing is predicted non-empty: the TP and FP cells are 0.
        let run = try Fixtures.runCLI(["report", results, report.path, "--images-dir", folder.path, "--ground-truth", truth,
                                       "--confidence-threshold", "1.0", "--num-images-to-sample", "-1", "--include-almost-detections",
                                       "--almost-detection-confidence-threshold", "0.25"])
        #expect(run.status == 0, "\(run.stderr)")
        let index = try String(contentsOf: report.appendingPathComponent("index.html"), encoding: .utf8)
        #expect(index.contains("<a href=\"tp.html\">0</a>") && index.contains("<a href=\"fp.html\">0</a>"))
        let links = index.components(separatedBy: "href=\"").dropFirst().compactMap { $0.split(separator: "\"").first.map(String.init) }
        #expect(!links.isEmpty)
        for link in links where link.hasSuffix(".html") {
            #expect(FileManager.default.fileExists(atPath: report.appendingPathComponent(link).path), "\(link) is linked but missing")
        }
        // All 8 entries sampled; the 7 photos on disk are rendered, the failed g.jpg (no file) cannot be.
        #expect(run.stdout.contains("7 rendered"), "\(run.stdout)")
        #expect((run.stdout + run.stderr).contains("cannot render") && (run.stdout + run.stderr).contains("g.jpg"))
        // a.jpg (0.9) is an almost-detection at threshold 1.0: its page image has the box drawn.
        let almost = try String(contentsOf: report.appendingPathComponent("almost_detections.html"), encoding: .utf8)
        let source = try #require(almost.components(separatedBy: "<img src=\"").dropFirst().first { $0.contains("alt=\"a.jpg\"") })
        let rendered = try ImageDecoder.decode(path: report.appendingPathComponent(String(source.prefix { $0 != "\"" })).path).image
        let plain = try ImageDecoder.decode(path: photo.path).image
        #expect(rendered.width == plain.width)
        // The box's left edge (x = 0.1 * 64) against the plain photo, averaged over its rows.
        let (x, rows) = (7, 6..<14)
        let difference = rows.map { y in (0..<3).map { abs(Int(rendered.pixels[(y * 64 + x) * 3 + $0]) - Int(plain.pixels[(y * 64 + x) * 3 + $0])) }.reduce(0, +) }
        #expect(difference.reduce(0, +) / rows.count > 60, "box edge pixels differ by \(difference)")
    }

    /// The reference's ground-truth rule: labels of more than one kind make an image ambiguous, no labels
    /// or only unknown ones make it unknown; neither is evaluated.
    @Test func groundTruthStatusFollowsTheReference() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-truth-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let labels: [(String, [Int])] = [("pos", [1]), ("neg", [0]), ("mixed", [1, 0]), ("posunk", [1, 2]), ("unk", [2]), ("none", [])]
        let images = labels.map { "{\"id\": \"\($0.0)\", \"file_name\": \"\($0.0).jpg\"}" }.joined(separator: ", ")
        var annotations: [String] = []
        for (image, categories) in labels {
            for category in categories { annotations.append("{\"id\": \(annotations.count), \"image_id\": \"\(image)\", \"category_id\": \(category)}") }
        }
        let text = """
            {"images": [\(images)], "annotations": [\(annotations.joined(separator: ", "))],
             "categories": [{"id": 0, "name": "empty"}, {"id": 1, "name": "deer"}, {"id": 2, "name": "unknown"}]}
            """
        let path = folder.appendingPathComponent("truth.json")
        try Data(text.utf8).write(to: path)
        let truth = try GroundTruth(path: path.path)
        #expect(truth.statusByFile["pos.jpg"] == .positive && truth.statusByFile["neg.jpg"] == .negative)
        #expect(truth.statusByFile["mixed.jpg"] == .ambiguous && truth.statusByFile["posunk.jpg"] == .ambiguous)
        #expect(truth.statusByFile["unk.jpg"] == .unknown && truth.statusByFile["none.jpg"] == .unknown)
    }
}
