import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `megadetector detect` against the official package's results on the same photos and model
/// (Tests/Fixtures/detect/generate_detect_fixtures.py), compared with the reference test suite's
/// semantics at confidence error <= 0.001 and coordinate error <= 0.0005.
struct DetectCommandTests {
    static let fixtures = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect")
    static let model = fixtures.appendingPathComponent("md_v5_tiny.pt").path

    /// Photos where we deliberately differ from the reference, with the reason (README, "Fidelity").
    static let deliberateDifferences: [String: String] = [
        "edge-cases/speciesnet_african_elephants_cmyk.jpg": "the reference cannot open CMYK JPEGs; we convert them to RGB",
        "palette.png": "the reference refuses palette PNGs (mode P); we expand the palette",
        "gray16.png": "the reference fails 16-bit grayscale PNGs at inference; we decode them (high byte)",
    ]

    static func runDetect(_ input: String, extra: [String] = [], model: String = model) throws -> (ResultsFile, String) {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-detect-\(UUID().uuidString).json").path
        let result = try Fixtures.runCLI(["detect", model, input, output, "--recursive", "--output-relative-filenames",
                                          "--include-image-size", "--include-image-timestamp", "--quiet"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("Finished inference for"))
        return (try ResultsFile.read(path: output), output)
    }

    static func check(ours: ResultsFile, expected: ResultsFile, minimumIdentical: Double) {
        let filteredOurs = ResultsFile(images: ours.images.filter { deliberateDifferences[$0.file] == nil }, info: ours.info)
        let filteredExpected = ResultsFile(images: expected.images.filter { deliberateDifferences[$0.file] == nil }, info: expected.info)
        // Both files are cut at the 0.005 output threshold: a detection at 0.005-0.006 (within the 0.001
        // tolerance of it) may be 0.0049 on the other side and absent there, from float noise alone.
        let report = ResultsComparer.compare(filteredOurs, filteredExpected, unmatchedAllowedUpTo: 0.005 + 0.001)
        #expect(report.onlyInFirst.isEmpty && report.onlyInSecond.isEmpty && report.failureMismatches.isEmpty)
        #expect(report.maxConfidenceError.value <= 0.001 + 1e-9, "\(report.maxConfidenceError)")
        #expect(report.maxCoordinateError.value <= 0.0005 + 1e-9, "\(report.maxCoordinateError)")
        let fraction = Double(report.identicalImages) / Double(max(report.imagesCompared, 1))
        #expect(fraction >= minimumIdentical, "identical entries: \(report.identicalImages) of \(report.imagesCompared)")
        #expect(ours.images.count == expected.images.count)
    }

    @Test(.requires(.shared)) func sharedPhotosMatchTheReference() throws {
        let shared = try Fixtures.requireShared()
        let (ours, output) = try Self.runDetect(shared.appendingPathComponent("images").path)
        let expected = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_shared.json").path)
        // 41 of the 44 comparable photos are identical; the others differ only where float32 noise
        // crosses a truncation boundary (0.469 vs 0.468) or reorders detections of equal confidence.
        Self.check(ours: ours, expected: expected, minimumIdentical: 0.9)
        // Every edge case is a failure record or detections, never absent.
        #expect(ours.images.contains { $0.file.hasPrefix("edge-cases/") }, "no edge case in the results")
        for image in ours.images where image.file.hasPrefix("edge-cases/") {
            #expect(image.failure != nil || image.detections != nil)
        }
        #expect(ours.images.first { $0.file.hasSuffix("zero_bytes.JPG") }?.failure == "image access failure")
        let validation = try Fixtures.runCLI(["validate", output])
        #expect(validation.status == 0, "\(validation.stderr)")
    }

    @Test func syntheticPhotosMatchTheReference() throws {
        let (ours, _) = try Self.runDetect(Self.fixtures.appendingPathComponent("synthetic").path)
        let expected = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_synthetic.json").path)
        Self.check(ours: ours, expected: expected, minimumIdentical: 1.0)
        // EXIF orientation 6 and 8 rotate (300x400), mirrored 2/4/5/7 are ignored (400x300).
        let sizes = Dictionary(uniqueKeysWithValues: ours.images.map { ($0.file, [$0.width ?? 0, $0.height ?? 0]) })
        #expect(sizes["exif_orientation_6.jpg"] == [300, 400] && sizes["exif_orientation_8.jpg"] == [300, 400])
        #expect(sizes["exif_orientation_5.jpg"] == [400, 300] && sizes["exif_orientation_3.jpg"] == [400, 300])
        #expect(ours.images.first { $0.file == "exif_orientation_1.jpg" }?.datetime == .some("2024:06:01 21:13:07"))
    }

    /// The same weights exported to ONNX with a dynamic height and width (generate_detect_fixtures.py
    /// --onnx-only: torch.onnx.export, BatchNorm fused, as `export.py --dynamic` does) give the
    /// reference's results on the checkpoint: each photo's letterboxed size gets its own conversion.
    @Test func dynamicONNXExportGivesTheReferenceResultsOfItsCheckpoint() throws {
        let model = Self.fixtures.appendingPathComponent("md_v5_tiny_dynamic.onnx").path
        let (ours, _) = try Self.runDetect(Self.fixtures.appendingPathComponent("synthetic").path, model: model)
        let expected = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_synthetic.json").path)
        Self.check(ours: ours, expected: expected, minimumIdentical: 1.0)
        let info = try Fixtures.runCLI(["model-info", model])
        #expect(info.status == 0 && info.stdout.contains("dynamic input [1, 3, -1, -1]"), "\(info.stdout)\(info.stderr)")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-dyn-\(UUID().uuidString).json").path
        let int8 = try Fixtures.runCLI(["detect", model, Self.fixtures.appendingPathComponent("synthetic").path, output, "--precision", "int8"])
        #expect(int8.status != 0 && int8.stderr.contains("not built for ONNX exports with a dynamic input size"), "\(int8.stderr)")
    }

    /// A fixed-size export (960x1280) letterboxes every photo to exactly that size (`auto=False`, as
    /// YOLOv5's detect.py does for such exports). For 4:3 landscape photos that is what the reference's
    /// letterbox gives at 1280, so their entries equal the reference's on the checkpoint; the others are
    /// padded further by design (and still get entries).
    @Test func fixedSizeONNXExportLetterboxesToItsSize() throws {
        let model = Self.fixtures.appendingPathComponent("md_v5_tiny_960x1280.onnx").path
        let photos = Self.fixtures.appendingPathComponent("synthetic").path
        let (ours, _) = try Self.runDetect(photos, model: model)
        let expected = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_synthetic.json").path)
        let reference = Dictionary(uniqueKeysWithValues: expected.images.map { ($0.file, $0) })
        var compared = 0
        for image in ours.images {
            #expect(image.failure == nil, "\(image.file): \(image.failure ?? "")")
            guard let width = image.width, let height = image.height, width * 3 == height * 4,
                  Self.deliberateDifferences[image.file] == nil, let theirs = reference[image.file] else { continue }
            #expect(image.detections == theirs.detections, "\(image.file)")
            compared += 1
        }
        #expect(compared >= 8, "only \(compared) 4:3 photos compared")
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-fixed-\(UUID().uuidString).json").path
        let sized = try Fixtures.runCLI(["detect", model, photos, output, "--image-size", "640"])
        #expect(sized.status != 0 && sized.stderr.contains("exported for a fixed 1280x960 input"), "\(sized.stderr)")
    }

    @Test func overwriteHandlingAndBadInputs() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-exists-\(UUID().uuidString).json")
        try Data("{}".utf8).write(to: output)
        defer { try? FileManager.default.removeItem(at: output) }
        let input = Self.fixtures.appendingPathComponent("synthetic/tiny_64x48.jpg").path
        let refused = try Fixtures.runCLI(["detect", Self.model, input, output.path, "--overwrite-handling", "error"])
        #expect(refused.status != 0 && refused.stderr.contains("exists"))
        let skipped = try Fixtures.runCLI(["detect", Self.model, input, output.path, "--overwrite-handling", "skip"])
        #expect(skipped.status == 0)
        #expect(try String(contentsOf: output, encoding: .utf8) == "{}")
        let missing = try Fixtures.runCLI(["detect", Self.model, "/nonexistent/folder", output.path])
        #expect(missing.status == 1 && missing.stderr.contains("does not exist"))
    }
}

extension DetectCommandTests {
    /// An MDv1000-style file: `megadetector_info.json` appended deflated by the reference's own
    /// add_metadata_to_megadetector_model_file (generate_metadata_fixtures.py) sets a 1024 px image
    /// size, and the detections are the reference's with that file; a damaged entry is refused.
    @Test func deflatedMetadataSetsTheImageSizeAsTheReference() throws {
        let model = Self.fixtures.appendingPathComponent("md_v5_tiny_metadata_1024.pt").path
        let (ours, _) = try Self.runDetect(Self.fixtures.appendingPathComponent("synthetic").path, model: model)
        let expected = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_synthetic_metadata_1024.json").path)
        Self.check(ours: ours, expected: expected, minimumIdentical: 1.0)
        let plain = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_synthetic.json").path)
        #expect(expected.images.map(\.detections) != plain.images.map(\.detections), "1024 px gives other detections than 1280 px")
        let info = try Fixtures.runCLI(["model-info", model])
        #expect(info.status == 0 && info.stdout.contains("1024"), "\(info.stdout)")
        let damaged = try Fixtures.runCLI(["detect", Self.fixtures.appendingPathComponent("md_v5_tiny_metadata_damaged.pt").path,
                                           Self.fixtures.appendingPathComponent("synthetic/tiny_64x48.jpg").path,
                                           FileManager.default.temporaryDirectory.appendingPathComponent("md-damaged-\(UUID().uuidString).json").path])
        #expect(damaged.status == 1 && damaged.stderr.contains("megadetector_info.json") && damaged.stderr.contains("CRC"), "\(damaged.stderr)")
    }

    /// `--augment` against the reference's `--augment` (three passes, merged before NMS).
    @Test func augmentedRunMatchesTheReference() throws {
        let (ours, _) = try Self.runDetect(Self.fixtures.appendingPathComponent("synthetic").path, extra: ["--augment"])
        let expected = try ResultsFile.read(path: Self.fixtures.appendingPathComponent("expected_synthetic_augment.json").path)
        Self.check(ours: ours, expected: expected, minimumIdentical: 1.0)
    }
}

extension DetectCommandTests {
    /// A YOLO model that is not MegaDetector: categories come from the mapping file, no +1 offset.
    @Test func classMappingNamesTheCategories() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-mapping-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let mapping = folder.appendingPathComponent("classes.json")
        try Data("{\"0\": \"cat\", \"1\": \"dog\"}".utf8).write(to: mapping)
        let output = folder.appendingPathComponent("out.json").path
        let result = try Fixtures.runCLI(["detect", Fixtures.enginePath("yolov5_p5_tiny.pt"),
                                          Self.fixtures.appendingPathComponent("synthetic").path, output,
                                          "--class-mapping", mapping.path, "--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        let results = try ResultsFile.read(path: output)
        #expect(results.detectionCategories.map(\.0) == ["0", "1"])
        #expect(results.detectionCategories.map(\.1) == ["cat", "dog"])
        let used = Set(results.images.flatMap { $0.detections ?? [] }.map(\.category))
        #expect(!used.isEmpty && used.isSubset(of: ["0", "1"]))
    }
}

extension DetectCommandTests {
    @Test func renderWritesDetectionImagesAndCrops() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-render-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = Self.fixtures.appendingPathComponent("synthetic/portrait_600x900.jpg").path
        let rendered = try Fixtures.runCLI(["render", Self.model, "--image-file", photo, "--output-dir", folder.path, "--threshold", "0.01"])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        let output = folder.appendingPathComponent("portrait_600x900_detections.jpg").path
        let image = try ImageDecoderShim.size(output)
        #expect(image == [600, 900])
        let cropped = try Fixtures.runCLI(["render", Self.model, "--image-file", photo, "--output-dir", folder.path, "--threshold", "0.01", "--crop"])
        #expect(cropped.status == 0)
        let crops = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.contains("_crop") }
        #expect(!crops.isEmpty && crops.allSatisfy { $0.hasPrefix("portrait_600x900_crop") && $0.hasSuffix("_detections.jpg") })
        // Rendered outputs are skipped as inputs.
        let again = try Fixtures.runCLI(["render", Self.model, "--image-dir", folder.path, "--output-dir", folder.path])
        #expect(again.stdout.contains("for 0 inputs"))
    }
}

extension DetectCommandTests {
    /// Photos of the same name in different folders, rendered into one --output-dir, get the reference's
    /// `0000_` prefixes instead of overwriting each other.
    @Test func renderKeepsSameNamedPhotosApart() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-render-same-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = Self.fixtures.appendingPathComponent("synthetic/portrait_600x900.jpg")
        for sub in ["a", "b"] {
            try FileManager.default.createDirectory(at: folder.appendingPathComponent("in/\(sub)"), withIntermediateDirectories: true)
            try FileManager.default.copyItem(at: photo, to: folder.appendingPathComponent("in/\(sub)/x.jpg"))
        }
        let out = folder.appendingPathComponent("out")
        let run = try Fixtures.runCLI(["render", Self.model, "--image-dir", folder.appendingPathComponent("in").path, "--recursive",
                                       "--output-dir", out.path])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(Set(try FileManager.default.contentsOfDirectory(atPath: out.path)) == ["x_detections.jpg", "0000_x_detections.jpg"])
    }
}

extension DetectCommandTests {
    /// INPUT as one image, a .txt list and a .json list gives the same entries as the folder run.
    @Test func imageAndListInputsGiveTheFolderRunsEntries() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-inputs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let photos = ["portrait_600x900.jpg", "tiny_64x48.jpg"].map { Self.fixtures.appendingPathComponent("synthetic/\($0)").path }
        let whole = folder.appendingPathComponent("folder.json").path
        #expect(try Fixtures.runCLI(["detect", Self.model, Self.fixtures.appendingPathComponent("synthetic").path, whole, "--quiet"]).status == 0)
        let expected = Dictionary(uniqueKeysWithValues: try ResultsFile.read(path: whole).images.map { ($0.file, $0) })
        let text = folder.appendingPathComponent("list.txt"), json = folder.appendingPathComponent("list.json")
        try Data((photos.joined(separator: "\n") + "\n").utf8).write(to: text)
        try Data(("[" + photos.map { "\"\($0)\"" }.joined(separator: ", ") + "]").utf8).write(to: json)
        for (input, count) in [(photos[0], 1), (text.path, 2), (json.path, 2)] {
            let output = folder.appendingPathComponent("out-\(UUID().uuidString).json").path
            let run = try Fixtures.runCLI(["detect", Self.model, input, output, "--quiet"])
            #expect(run.status == 0, "\(input): \(run.stderr)")
            let images = try ResultsFile.read(path: output).images
            #expect(images.count == count, "\(input)")
            for image in images {
                let reference = try #require(expected[image.file] ?? expected.values.first { $0.file.hasSuffix("/" + URL(fileURLWithPath: image.file).lastPathComponent) })
                #expect(image.detections == reference.detections, "\(input): \(image.file)")
            }
        }
    }
}

extension DetectCommandTests {
    /// Our results files pass the reference package's own validator, run where a Python with the
    /// reference is named in MEGADETECTOR_REFERENCE_PYTHON (.ci/run makes one; skipped where unset).
    @Test(.requires(.referencePython)) func resultsPassTheReferenceValidator() throws {
        let python = try #require(ProcessInfo.processInfo.environment["MEGADETECTOR_REFERENCE_PYTHON"])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-refvalidate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let plain = folder.appendingPathComponent("plain.json").path, rich = folder.appendingPathComponent("rich.json").path
        let photos = Self.fixtures.appendingPathComponent("synthetic").path
        #expect(try Fixtures.runCLI(["detect", Self.model, photos, plain, "--quiet"]).status == 0)
        #expect(try Fixtures.runCLI(["detect", Self.model, photos, rich, "--quiet", "--output-relative-filenames", "--include-image-size",
                                     "--include-image-timestamp", "--include-exif-tags", "Make,Model"]).status == 0)
        let (status, text) = try Fixtures.runTool(python, [Fixtures.repositoryRoot.appendingPathComponent("scripts/validate_with_reference.py").path,
                                                           plain, rich])
        #expect(status == 0, "\(text)")
    }
}

/// Reads a JPEG's size through the CLI-independent decoder (tests of the CLI target link no library).
enum ImageDecoderShim {
    static func size(_ path: String) throws -> [Int] {
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        var offset = 2
        while offset + 9 < bytes.count {
            let marker = bytes[offset + 1], length = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
            if marker == 0xC0 || marker == 0xC2 {
                return [Int(bytes[offset + 7]) << 8 | Int(bytes[offset + 8]), Int(bytes[offset + 5]) << 8 | Int(bytes[offset + 6])]
            }
            offset += 2 + length
        }
        throw Fixtures.FixtureError.missing("no frame header in \(path)")
    }
}
