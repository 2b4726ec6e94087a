import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `--precision`, `calibrate` and the refusals around them, end to end through the CLI on the tiny
/// YOLOv5 fixture model and the synthetic photos.
@Suite(.serialized) struct PrecisionCommandTests {
    static let fixtures = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect")
    static let model = fixtures.appendingPathComponent("md_v5_tiny.pt").path
    static let photos = fixtures.appendingPathComponent("synthetic").path

    /// oneDNN's int8 kernels need AVX2; bf16 needs AVX512-BF16 or AMX (as /proc/cpuinfo names them).
    static let cpuFlags: Set<String> = {
        let text = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let line = text.split(separator: "\n").first { $0.hasPrefix("flags") } ?? ""
        return Set(line.split(separator: " ").map(String.init))
    }()
    static let hasAVX2 = cpuFlags.contains("avx2")
    static let hasBF16 = cpuFlags.contains("avx512_bf16") || cpuFlags.contains("amx_bf16")

    static func temporaryFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-precision-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test(.enabled(if: hasAVX2, "oneDNN's int8 kernels need AVX2"))
    func int8DetectCalibratesOnceCachesAndRecordsItsPrecision() throws {
        let folder = try Self.temporaryFolder()
        let environment = ["MEGADETECTOR_MODEL_DIR": folder.appendingPathComponent("models").path]
        let output = folder.appendingPathComponent("int8.json").path
        let first = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "int8", "--quiet"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("int8: no calibration for this model yet; measuring on 16 of this job's photos"), "\(first.stderr)")
        let results = try ResultsFile.read(path: output)
        let metadata = try #require(results.info["detector_metadata"]?.object)
        #expect(metadata["precision"]?.string == "int8")
        let fingerprint = try #require(metadata["int8_calibration"]?.object?["fingerprint"]?.string)
        #expect(fingerprint.count == 32)
        #expect(try Fixtures.runCLI(["validate", output]).status == 0)
        let cached = try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("models/int8-calibration").path)
        #expect(cached.count == 1 && cached[0].hasSuffix("-1280.json"), "\(cached)")

        // Same model, another run: the cached table, the same fingerprint.
        let again = folder.appendingPathComponent("again.json").path
        let second = try Fixtures.runCLI(["detect", Self.model, Self.photos, again, "--precision", "int8", "--quiet"], environment: environment)
        #expect(second.status == 0 && second.stderr.contains("int8: using the cached calibration"), "\(second.stderr)")
        #expect(try ResultsFile.read(path: again).info["detector_metadata"]?.object?["int8_calibration"]?.object?["fingerprint"]?.string == fingerprint)

        // fp32 files stay as they were: no precision entry (the reference's files have none either).
        let plain = folder.appendingPathComponent("fp32.json").path
        #expect(try Fixtures.runCLI(["detect", Self.model, Self.photos, plain, "--quiet"], environment: environment).status == 0)
        let fp32 = try ResultsFile.read(path: plain)
        #expect(fp32.info["detector_metadata"]?.object?["precision"] == nil)
        #expect(fp32.images.count == results.images.count)
    }

    @Test(.enabled(if: hasAVX2, "oneDNN's int8 kernels need AVX2"))
    func calibrateWritesAReproducibleTableThatDetectUses() throws {
        let folder = try Self.temporaryFolder()
        let names = try FileManager.default.contentsOfDirectory(atPath: Self.photos).filter { $0.hasSuffix(".jpg") }.sorted()
        let chosen = names.prefix(5).map { "\(Self.photos)/\($0)" }
        let table = folder.appendingPathComponent("table.json").path, reversed = folder.appendingPathComponent("reversed.json").path
        let made = try Fixtures.runCLI(["calibrate", Self.model] + chosen + ["--output", table])
        #expect(made.status == 0, "\(made.stderr)")
        #expect(made.stdout.contains("on \(chosen.count) photos at image size 1280"), "\(made.stdout)")
        #expect(try Fixtures.runCLI(["calibrate", Self.model] + chosen.reversed() + ["--output", reversed]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: table)) == Data(contentsOf: URL(fileURLWithPath: reversed)),
                "the order of the photos changed the calibration")
        let json = try Fixtures.jsonObject(at: URL(fileURLWithPath: table))
        #expect(json["format"] as? String == "megadetector-swift int8 calibration")
        #expect((json["model_md5"] as? String)?.count == 32)
        #expect(((json["ranges"] as? [String: Any])?.count ?? 0) > 10)

        let output = folder.appendingPathComponent("out.json").path
        let run = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "int8", "--calibration", table, "--quiet"],
                                      environment: ["MEGADETECTOR_MODEL_DIR": folder.path])
        #expect(run.status == 0, "\(run.stderr)")
        let source = try ResultsFile.read(path: output).info["detector_metadata"]?.object?["int8_calibration"]?.object?["source"]?.string
        #expect(source?.contains("5 photos given to `megadetector calibrate`") == true, "\(source ?? "none")")

        // A table made for another model is refused, naming both MD5s.
        let other = try Fixtures.runCLI(["detect", Fixtures.enginePath("yolov5_p5_tiny.pt"), Self.photos, output, "--precision", "int8",
                                         "--calibration", table, "--quiet"])
        #expect(other.status != 0 && other.stderr.contains("was made for the model with MD5"), "\(other.stderr)")
        let wrongMode = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--calibration", table])
        #expect(wrongMode.status != 0 && wrongMode.stderr.contains("--calibration goes with --precision int8"), "\(wrongMode.stderr)")
    }

    @Test(.enabled(if: hasAVX2, "oneDNN's int8 kernels need AVX2"))
    func resumingWithAnotherPrecisionIsRefused() throws {
        let folder = try Self.temporaryFolder()
        let environment = ["MEGADETECTOR_MODEL_DIR": folder.path]
        // A checkpoint without a precision: written in fp32 (ours before precisions, or the reference's).
        let fp32Checkpoint = folder.appendingPathComponent("fp32_checkpoint.json").path
        try Data(#"{"checkpoint": []}"#.utf8).write(to: URL(fileURLWithPath: fp32Checkpoint))
        let output = folder.appendingPathComponent("out.json").path
        let refused = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "int8",
                                           "--resume-from-checkpoint", fp32Checkpoint], environment: environment)
        #expect(refused.status != 0 && refused.stderr.contains("the checkpoint was written with --precision fp32, this run asks for int8"),
                "\(refused.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))

        let int8Checkpoint = folder.appendingPathComponent("int8_checkpoint.json").path
        try Data(#"{"checkpoint": [], "detector_metadata": {"precision": "int8", "int8_calibration": {"fingerprint": "0123", "source": "elsewhere"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: int8Checkpoint))
        let asFP32 = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--resume-from-checkpoint", int8Checkpoint], environment: environment)
        #expect(asFP32.status != 0 && asFP32.stderr.contains("written with --precision int8, this run asks for fp32"), "\(asFP32.stderr)")
        let otherScales = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "int8",
                                               "--resume-from-checkpoint", int8Checkpoint], environment: environment)
        #expect(otherScales.status != 0 && otherScales.stderr.contains("int8 calibration 0123"), "\(otherScales.stderr)")

        // A checkpoint with this run's precision and calibration resumes.
        let first = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "int8", "--quiet"], environment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        let fingerprint = try #require(try ResultsFile.read(path: output).info["detector_metadata"]?.object?["int8_calibration"]?.object?["fingerprint"]?.string)
        let matching = folder.appendingPathComponent("matching_checkpoint.json").path
        try Data(#"{"checkpoint": [], "detector_metadata": {"precision": "int8", "int8_calibration": {"fingerprint": "\#(fingerprint)"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: matching))
        let resumed = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "int8", "--resume-from-checkpoint", matching],
                                          environment: environment)
        #expect(resumed.status == 0 && resumed.stderr.contains("Resuming from checkpoint \(matching)"), "\(resumed.stderr)")
    }

    @Test(.enabled(if: !hasBF16, "this CPU has native bf16; the refusal is for CPUs without it"))
    func bf16IsRefusedWithTheReasonWhereTheCPULacksIt() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-bf16-\(UUID().uuidString).json").path
        let run = try Fixtures.runCLI(["detect", Self.model, Self.photos, output, "--precision", "bf16"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("bf16 needs a CPU with native bf16 arithmetic (AVX512-BF16 or AMX"), "\(run.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }
}
