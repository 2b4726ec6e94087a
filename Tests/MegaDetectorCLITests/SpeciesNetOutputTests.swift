import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `detect --output-format speciesnet` against speciesnet's own pipeline on the same files
/// (Tests/Fixtures/speciesnet/generate_speciesnet_predictions.py: speciesnet 5.0.6 with the fixture
/// detector and classifier, on the shared camera-trap photos and an unreadable one): the same
/// predictions.json. Run from the shared folder with the reference's relative file names, so the
/// files can be compared whole. Numbers are written with 4 decimals; float32 noise (about 1e-7)
/// could move one across a rounding boundary on another CPU, so a number may differ by one unit of
/// the 4th decimal and everything else must be identical.
struct SpeciesNetOutputTests {
    static let folder = ClassifyCommandTests.folder

    /// (fixture, extra arguments). The always_crop runs classify boxes at or above 0.5 (the fixture
    /// detector's boxes below that include empty crops, on which speciesnet stops).
    static let cases: [(String, [String])] = [
        ("default", ["--detection-threshold-for-classification", "0.5"]),
        ("ken", ["--detection-threshold-for-classification", "0.5", "--country", "KEN"]),
        ("usa_ca", ["--detection-threshold-for-classification", "0.5", "--country", "USA", "--admin1-region", "CA"]),
        // The photos left out above, at the default 0.1, from run_model's default (multi-thread) pipeline:
        // an empty crop fails the photo's classification and keeps its detections.
        ("empty_crops", ["--country", "KEN"]),
    ]

    /// Runs ours on the fixture's photos, in its order, from the shared folder; returns our file and the reference's.
    static func run(_ name: String, _ arguments: [String], model: String? = nil, input: URL? = nil) throws -> (ours: Data, reference: Data, status: Int32, stderr: String) {
        let shared = try Fixtures.requireShared()
        let expectedURL = folder.appendingPathComponent("expected_predictions_\(name).json")
        let expected = try #require(try JSONParser.parse([UInt8](try Data(contentsOf: expectedURL))).object)
        let filepaths = (expected["predictions"]?.array ?? []).compactMap { $0.object?["filepath"]?.string }
        #expect(filepaths.count > 5)
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("md-speciesnet-out-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let list = work.appendingPathComponent("photos.txt"), output = work.appendingPathComponent("predictions.json")
        try (filepaths.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let result = try Fixtures.runCLI(["detect", DetectCommandTests.model, (input ?? list).path, output.path, "--classifier",
                                          model ?? folder.appendingPathComponent("model").path, "--output-format", "speciesnet", "--quiet"] + arguments,
                                         directory: shared)
        let ours = (try? Data(contentsOf: output)) ?? Data()
        return (ours, try Data(contentsOf: expectedURL), result.status, result.stderr)
    }

    /// Equal JSON, numbers within one unit of the 4th decimal; returns how many numbers differ at all.
    static func compare(_ a: JSONValue, _ b: JSONValue, path: String = "") -> (mismatches: [String], roundingFlips: Int) {
        switch (a, b) {
        case let (.object(x), .object(y)):
            guard x.keys == y.keys else { return (["\(path): keys \(x.keys) vs \(y.keys)"], 0) }
            return x.entries.reduce(into: ([String](), 0)) { total, entry in
                let part = compare(entry.value, y[entry.key]!, path: path + "." + entry.key)
                total.0 += part.mismatches
                total.1 += part.roundingFlips
            }
        case let (.array(x), .array(y)):
            guard x.count == y.count else { return (["\(path): \(x.count) items vs \(y.count)"], 0) }
            return zip(x, y).enumerated().reduce(into: ([String](), 0)) { total, item in
                let part = compare(item.element.0, item.element.1, path: path + "[\(item.offset)]")
                total.0 += part.mismatches
                total.1 += part.roundingFlips
            }
        case let (.double(x), .double(y)):
            if x == y { return ([], 0) }
            return abs(x - y) <= 1.0001e-4 ? ([], 1) : (["\(path): \(x) vs \(y)"], 0)
        default:
            return a == b ? ([], 0) : (["\(path): \(a) vs \(b)"], 0)
        }
    }

    /// Confidences and scores come out of float32 networks, and one lands within float32 noise of a
    /// 4-decimal rounding boundary now and then (boxes are whole pixels and do not move); we allow
    /// one flip per 500 numbers, at least 3 (measured here: none in the always_crop files, 4 detector
    /// confidences among the full_image file's 3,995 numbers).
    static func allowedFlips(_ document: JSONValue) -> Int {
        func numbers(_ value: JSONValue) -> Int {
            switch value {
            case .double: return 1
            case let .array(items): return items.reduce(0) { $0 + numbers($1) }
            case let .object(object): return object.entries.reduce(0) { $0 + numbers($1.value) }
            default: return 0
            }
        }
        return max(3, numbers(document) / 500)
    }

    @Test(.requires(.shared), arguments: cases.map(\.0))
    func predictionsEqualSpeciesNets(_ name: String) throws {
        let arguments = Self.cases.first { $0.0 == name }!.1
        let run = try Self.run(name, arguments)
        #expect(run.status == 0, "\(run.stderr)")
        let ours = try JSONParser.parse([UInt8](run.ours)), reference = try JSONParser.parse([UInt8](run.reference))
        let comparison = Self.compare(ours, reference)
        #expect(comparison.mismatches.isEmpty, "\(comparison.mismatches.prefix(10))")
        #expect(comparison.roundingFlips <= Self.allowedFlips(reference), "\(comparison.roundingFlips) numbers one rounding step apart")
        if comparison.roundingFlips == 0 { #expect(run.ours == run.reference, "same values but not the same bytes") }
        // The fixture reaches the ensemble and the failure record of an unreadable photo.
        let text = String(decoding: run.reference, as: UTF8.self)
        if name == "empty_crops" {
            #expect(text.contains("\"CLASSIFIER\""))
        } else {
            #expect(text.contains("\"processed_classification\"") && text.contains("\"DETECTOR\""))
        }
    }

    /// A `full_image` model: the photo's centre (30 % of the height cut, at most 400 rows) classified
    /// as a whole-photo pseudo-detection written first, paired in the ensemble with the top box.
    @Test(.requires(.shared)) func fullImageModelEqualsSpeciesNets() throws {
        let model = FileManager.default.temporaryDirectory.appendingPathComponent("md-speciesnet-full-\(UUID().uuidString)")
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("model"), to: model)
        defer { try? FileManager.default.removeItem(at: model) }
        let info = model.appendingPathComponent("info.json")
        let text = try String(contentsOf: info, encoding: .utf8)
        try text.replacingOccurrences(of: "\"always_crop\"", with: "\"full_image\"").write(to: info, atomically: true, encoding: .utf8)
        let run = try Self.run("full_image", [], model: model.path)
        #expect(run.status == 0, "\(run.stderr)")
        let comparison = Self.compare(try JSONParser.parse([UInt8](run.ours)), try JSONParser.parse([UInt8](run.reference)))
        #expect(comparison.mismatches.isEmpty, "\(comparison.mismatches.prefix(10))")
        let reference = try JSONParser.parse([UInt8](run.reference))
        #expect(comparison.roundingFlips <= Self.allowedFlips(reference), "\(comparison.roundingFlips) numbers one rounding step apart")
        #expect(String(decoding: run.reference, as: UTF8.self).contains("whole_image_classification"))
    }

    /// speciesnet's instances.json input: a location per photo (country, region, latitude and longitude,
    /// written through), geofenced per photo; US photos placed only by latitude and longitude get the state
    /// speciesnet looks up (Sacramento CA, Reno NV, Portland OR).
    @Test(.requires(.shared)) func instancesFileEqualsSpeciesNets() throws {
        let instances = Self.folder.appendingPathComponent("instances.json")
        let run = try Self.run("instances", ["--detection-threshold-for-classification", "0.5"], input: instances)
        #expect(run.status == 0, "\(run.stderr)")
        let reference = try JSONParser.parse([UInt8](run.reference))
        let comparison = Self.compare(try JSONParser.parse([UInt8](run.ours)), reference)
        #expect(comparison.mismatches.isEmpty, "\(comparison.mismatches.prefix(10))")
        #expect(comparison.roundingFlips <= Self.allowedFlips(reference))
        let text = String(decoding: run.reference, as: UTF8.self)
        #expect(text.contains("\"latitude\"") && text.contains("\"admin1_region\": \"OR\"") && text.contains("\"admin1_region\": \"NV\""))
    }

    @Test(.requires(.shared)) func anExistingFileIsResumedAndFailuresRetried() throws {
        let shared = try Fixtures.requireShared()
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("md-speciesnet-resume-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        // Three photos of the fixture run, the first with a classified detection.
        let fixture = try #require(try JSONParser.parse([UInt8](try Data(contentsOf: Self.folder.appendingPathComponent("expected_predictions_ken.json")))).object)
        let entries = (fixture["predictions"]?.array ?? []).compactMap { $0.object }.filter { $0["failures"] == nil }
        let classified = try #require(entries.first { JSONWriter.serialize(.object($0)).contains("processed_classification") })
        let photos = ([classified] + entries.filter { $0 != classified }.prefix(2)).compactMap { $0["filepath"]?.string }
        let list = work.appendingPathComponent("photos.txt"), full = work.appendingPathComponent("full.json")
        let partial = work.appendingPathComponent("partial.json")
        try (photos.joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let arguments = ["--classifier", Self.folder.appendingPathComponent("model").path, "--output-format", "speciesnet", "--country", "KEN",
                         "--detection-threshold-for-classification", "0.5"]
        let first = try Fixtures.runCLI(["detect", DetectCommandTests.model, list.path, full.path] + arguments, directory: shared)
        #expect(first.status == 0, "\(first.stderr)")
        // An earlier run that finished the first photo and failed on the second (speciesnet retries failures).
        let complete = try #require(try JSONParser.parse([UInt8](try Data(contentsOf: full))).object)
        let written = try #require(complete["predictions"]?.array)
        #expect(written.count == 3 && written[0].object?["failures"] == nil)
        var failed = try #require(written[1].object)
        failed["failures"] = .array([.string("DETECTOR")])
        failed["detections"] = nil
        var earlier = complete
        earlier["predictions"] = .array([written[0], .object(failed)])
        try Data(JSONWriter.serialize(.object(earlier)).utf8).write(to: partial)
        let second = try Fixtures.runCLI(["detect", DetectCommandTests.model, list.path, partial.path] + arguments, directory: shared)
        #expect(second.status == 0, "\(second.stderr)")
        #expect(second.stdout.contains("(1 kept from"), "\(second.stdout)")
        #expect(try Data(contentsOf: partial) == (try Data(contentsOf: full)))
        // A file from another set of photos is refused, naming the stranger.
        try (photos.prefix(1).joined(separator: "\n") + "\n").write(to: list, atomically: true, encoding: .utf8)
        let other = try Fixtures.runCLI(["detect", DetectCommandTests.model, list.path, full.path] + arguments, directory: shared)
        #expect(other.status == 1 && other.stderr.contains(photos[1]), "\(other.stderr)")
    }

    @Test func optionsSpeciesNetDoesNotTakeAreRefused() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-speciesnet-\(UUID().uuidString).json").path
        let photos = DetectCommandTests.fixtures.appendingPathComponent("synthetic").path
        let noClassifier = try Fixtures.runCLI(["detect", DetectCommandTests.model, photos, output, "--output-format", "speciesnet"])
        #expect(noClassifier.status == 1 && noClassifier.stderr.contains("--classifier"), "\(noClassifier.stderr)")
        let sampling = try Fixtures.runCLI(["detect", DetectCommandTests.model, photos, output, "--output-format", "speciesnet",
                                            "--classifier", Self.folder.appendingPathComponent("model").path, "--frame-sample", "5"])
        #expect(sampling.status == 1 && sampling.stderr.contains("--frame-sample"), "\(sampling.stderr)")
        let threshold = try Fixtures.runCLI(["detect", DetectCommandTests.model, photos, output, "--output-format", "speciesnet",
                                             "--classifier", Self.folder.appendingPathComponent("model").path, "--threshold", "0.2"])
        #expect(threshold.status == 1 && threshold.stderr.contains("--threshold"), "\(threshold.stderr)")
        let mdOnly = try Fixtures.runCLI(["detect", DetectCommandTests.model, photos, output, "--no-geofence"])
        #expect(mdOnly.status == 1 && mdOnly.stderr.contains("--output-format speciesnet"), "\(mdOnly.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
