import Foundation
import ResultsFormat
import Testing
import TestSupport

/// The CLI through its real interface: run the built executable, check exit codes and output.
struct ModelInfoCommandTests {
    @Test func describesAnMDv5FormatCheckpoint() throws {
        let result = try Fixtures.runCLI(["model-info", Fixtures.enginePath("yolov5_p6_tiny.pt")])
        #expect(result.status == 0)
        #expect(result.stdout.contains("YOLOv5 P6 (4 detection levels"))
        #expect(result.stdout.contains("classes:            3: 0=animal, 1=person, 2=vehicle"))
        #expect(result.stdout.contains("strides:            8, 16, 32, 64"))
        #expect(result.stdout.contains("anchors P6:         436x615 739x380 925x792"))
        #expect(result.stdout.contains("storage precision:  float16"))
        #expect(result.stdout.contains("default input size: 1280"))
        #expect(result.stdout.contains("load time:"))
    }

    /// Each failure is one line on stderr naming the problem, and exit code 1.
    @Test(arguments: [
        ("missing.pt", "model file not found"),
        ("truncated.pt", "corrupt model archive (zip): end of central directory not found"),
        ("not_a_zip.pt", "not a zip file"),
        ("evil_os_system.pt", "refused to load: the pickle references 'os.system'"),
        ("evil_subprocess_popen.pt", "'subprocess.Popen'"),
        ("state_dict_only.pt", "not a YOLOv5 checkpoint"),
        ("module_state_dict.pt", "not a YOLOv5 checkpoint"),
        ("layer_reads_nothing.pt", "layer 1 (Conv) reads 0 layers"),
        ("unsupported_op.onnx", "unsupported ONNX operator Erf (opset 13)"),
    ])
    func failsWithOneClearLine(file: String, message: String) throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("md-cli-pwned-\(UUID().uuidString)")
        let result = try Fixtures.runCLI(["model-info", Fixtures.enginePath(file)],
                                         environment: ["MEGADETECTOR_PWN_MARKER": marker.path])
        #expect(result.status == 1)
        #expect(result.stderr.hasPrefix("error: "))
        #expect(result.stderr.contains(message))
        #expect(result.stderr.split(separator: "\n").count == 1)
        #expect(!FileManager.default.fileExists(atPath: marker.path))
    }

    @Test func inferRawWritesTheDetectOutputAndDumps() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("md-raw-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let output = directory.appendingPathComponent("out.f32")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let result = try Fixtures.runCLI([
            "infer-raw", Fixtures.enginePath("yolov5_p6_tiny.pt"), "--input", Fixtures.enginePath("yolov5_p6_tiny_input.u8"),
            "--shape", "1,3,256,320", "--output", output.path, "--dump-activations", directory.appendingPathComponent("dump").path,
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let data = try Data(contentsOf: output)
        #expect(data.count == 5100 * 8 * 4)
        let expected = try Fixtures.array(try Fixtures.model("yolov5_p6_tiny")["torch_output"])
        let values = data.withUnsafeBytes { raw in (0..<(5100 * 8)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        let worst = WorstError.absoluteDifference(values, expected.values)
        #expect(worst < 0.02)
        let index = try Data(contentsOf: directory.appendingPathComponent("dump/index.json"))
        let entries = try #require(try JSONSerialization.jsonObject(with: index) as? [[String: Any]])
        #expect(entries.contains { $0["name"] as? String == "model.32" })
        #expect(entries.contains { $0["name"] as? String == "model.33.m.3" })  // Detect's raw P6 convolution
        #expect(FileManager.default.fileExists(atPath: directory.appendingPathComponent("dump/model.0.f32").path))
    }
}

extension ModelInfoCommandTests {
    /// A MegaDetector v4-structure graph: model-info describes what the structure checks found.
    @Test func megadetectorV4GraphIsDescribed() throws {
        let graph = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4/mdv4_skeleton.pb").path
        let info = try Fixtures.runCLI(["model-info", graph])
        #expect(info.status == 0, "\(info.stderr)")
        #expect(info.stdout.contains("classes:            3 (from the second-stage weights)"))
        #expect(info.stdout.contains("nodes:              12343 (70 op types"))
        #expect(info.stdout.contains("resizer:            keep aspect ratio, 600 to 1024"))
        #expect(info.stdout.contains("anchors:            12 per cell, base 256, stride 8, scales 0.25 0.50 1 2, aspect ratios 0.50 1 2"))
        #expect(info.stdout.contains("proposals:          300, NMS IoU 0.70; crops 17x17"))
        #expect(info.stdout.contains("detections:         up to 100 per class, NMS IoU 0.60"))
        // The skeleton keeps the structure but not the weights: detect refuses it with one clear line.
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("v4-\(UUID().uuidString).json").path
        let detect = try Fixtures.runCLI(["detect", graph, Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/synthetic").path, output])
        #expect(detect.status == 1)
        #expect(detect.stderr.contains("error:") && detect.stderr.split(separator: "\n").count == 1, "\(detect.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}

extension ModelInfoCommandTests {
    /// `detect` with a MegaDetector v4-structure graph (the thin fixture): for each photo, the entries
    /// the reference package's TFDetector makes of TensorFlow's outputs (mdv4_thin_outputs.json),
    /// within the reference test suite's tolerances (0.001 confidence, 0.0005 coordinates).
    @Test(.requires(.shared)) func detectRunsAMegaDetectorV4Graph() throws {
        let shared = try Fixtures.requireShared()
        let fixtures = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4")
        let manifest = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("mdv4_thin_outputs.json"))) as? [String: Any])
        let photos = try #require(manifest["photos"] as? [[String: Any]])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("v4-photos-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        for photo in photos {
            let source = shared.appendingPathComponent(try #require(photo["photo"] as? String))
            try FileManager.default.copyItem(at: source, to: folder.appendingPathComponent(source.lastPathComponent))
        }
        let output = folder.appendingPathComponent("results.json").path
        let run = try Fixtures.runCLI(["detect", fixtures.appendingPathComponent("mdv4_thin.pb").path, folder.path, output,
                                       "--output-relative-filenames", "--quiet"])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try ResultsFile.read(path: output)
        #expect(!photos.isEmpty && results.images.count == photos.count)
        for photo in photos {
            let name = URL(fileURLWithPath: try #require(photo["photo"] as? String)).lastPathComponent
            let expected = try #require(photo["reference_detections"] as? [[String: Any]])
            let ours = try #require(results.images.first { $0.file == name }?.detections)
            #expect(ours.count == expected.count, "\(name)")
            for (detection, reference) in zip(ours, expected) {
                #expect(detection.category == reference["category"] as? String, "\(name)")
                #expect(abs(detection.conf - (reference["conf"] as? Double ?? -1)) <= 0.001, "\(name)")
                let box = try #require(reference["bbox"] as? [Double])
                #expect(detection.bbox.count == 4 && box.count == 4 && zip(detection.bbox, box).allSatisfy { abs($0 - $1) <= 0.0005 },
                        "\(name): \(detection.bbox) vs \(box)")
            }
        }
    }
}
