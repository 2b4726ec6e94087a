import ArgumentParser
import Engine
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import ModelFormats
import Detection

struct InferRawCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "infer-raw",
        abstract: "Run a model on a raw input tensor and write its raw output (for tests and debugging).",
        discussion: """
        The input is a raw little-endian file: .u8 (uint8, divided by 255, as MegaDetector feeds \
        photos) or .f32 (float32, used as is), in NCHW order with the shape given by --shape. The \
        output is written as float32 (.f32) in the network's output layout; for YOLOv5 that is \
        [N, 5 + classes] rows of cx, cy, w, h (tensor pixels), objectness, class scores. \
        --dump-activations writes every named intermediate (model.<layer>, model.<layer>.cv1, ...) \
        as DIR/<name>.f32 plus DIR/index.json with the shapes, to compare with PyTorch hooks.
        """
    )

    @Argument(help: "Model file (.pt or .onnx).")
    var model: String

    @Option(help: "Input tensor file (.u8 or .f32).")
    var input: String

    @Option(help: "Input shape, e.g. 1,3,960,1280.")
    var shape: String

    @Option(help: "Where to write the output tensor (.f32).")
    var output: String

    @Option(help: "Folder for every intermediate tensor.")
    var dumpActivations: String?

    @Option(name: .customLong("repeat"), help: "Run the forward pass this many times and print each time, the time per op kind in the last pass and the peak memory (benchmarking).")
    var repeatCount: Int = 1

    @OptionGroup var engine: EngineOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    func run() throws {
        try reportingErrors {
            engine.apply()
            // bf16 and int8 load on the reference backend first: no float32 oneDNN weights to prepare and discard.
            let fp32 = precisionOptions.precision == .fp32
            let loadStart = Date()
            var loaded = try ModelLoader.load(path: model, backend: fp32 ? engine.backend : .reference)
            switch precisionOptions.precision {
            case .fp32: break
            case .bf16: loaded.network = try loaded.network.with(precision: .bf16, backend: engine.backend)
            case .int8:
                // A raw tensor has no photos to calibrate on: the scales come from a file.
                guard let file = precisionOptions.calibration else { throw ValidationError("infer-raw --precision int8 needs --calibration FILE") }
                let table = try CalibrationTable.read(path: file)
                let md5 = try ModelRegistry.md5(ofFile: model)
                guard table.modelMD5 == md5 else { throw Int8Calibration.Failure.otherModel(path: file, tableMD5: table.modelMD5, modelMD5: md5) }
                loaded.network = try loaded.network.with(precision: .int8(table.activationRanges), backend: engine.backend)
            }
            // As `detect` does: oneDNN holds its own copies, the graph's float32 weights are not read again.
            loaded.network = loaded.network.releasingGraphWeights()
            let loadSeconds = Date().timeIntervalSince(loadStart)
            let dims = shape.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
            let tensor = try RawTensorFile.read(path: input, shape: dims)
            let context = ExecutionContext(network: loaded.network)
            var dumped: [(String, [Int])] = []
            if let dumpActivations {
                try FileManager.default.createDirectory(atPath: dumpActivations, withIntermediateDirectories: true)
            }
            let start = Date()
            // Only observe (which converts every intermediate) when dumping: it is not free.
            let observer: ((String, Tensor) -> Void)? = dumpActivations.map { folder in
                { name, value in
                    let file = name.replacingOccurrences(of: "/", with: "_")
                    try? RawTensorFile.write(value, path: "\(folder)/\(file).f32")
                    dumped.append((name, value.shape))
                }
            }
            let results = try context.run([loaded.info.inputName: tensor], observe: observer)
            let seconds = Date().timeIntervalSince(start)
            var times = [seconds]
            for _ in 1..<max(repeatCount, 1) {
                context.operationSeconds = [:]
                context.recordsOperationTimes = true
                let again = Date()
                _ = try context.run([loaded.info.inputName: tensor])
                times.append(Date().timeIntervalSince(again))
            }
            if repeatCount > 1 {
                // Per op kind in the last pass ("/cl": an input was channels-last, "/rm": row-major).
                for (kind, seconds) in context.operationSeconds.sorted(by: { $0.value > $1.value }) {
                    print("op time \(kind): \(String(format: "%.4f", seconds)) s")
                }
                let formatted = times.map { String(format: "%.3f", $0) }.joined(separator: " ")
                print("forward seconds: \(formatted)")
                // Reading the file and preparing the network in its precision (a conversion included).
                print("load seconds: \(String(format: "%.3f", loadSeconds))")
                let precisions = loaded.network.convolutionPrecisions.values
                print("convolutions in \(precisionOptions.precision.rawValue): \(precisions.filter { $0 == precisionOptions.precision }.count) of \(precisions.count)")
                print("peak resident memory MB: \(String(format: "%.0f", ProcessMemory.peakResidentMegabytes))")
            }
            guard let result = results[loaded.info.outputName] else { throw EngineError.missingInput(name: loaded.info.outputName) }
            try RawTensorFile.write(result, path: output)
            if let dumpActivations {
                let index = dumped.map { ["name": $0.0, "file": $0.0.replacingOccurrences(of: "/", with: "_") + ".f32", "shape": $0.1] as [String: Any] }
                let data = try JSONSerialization.data(withJSONObject: index, options: [.prettyPrinted])
                try data.write(to: URL(fileURLWithPath: "\(dumpActivations)/index.json"))
            }
            print("output \(loaded.info.outputName) \(result.shape) written to \(output) (forward \(String(format: "%.3f", seconds)) s)")
        }
    }
}

/// The process's peak resident set size. VmHWM belongs to the address space, so unlike getrusage's
/// ru_maxrss it does not inherit a large parent's figure across fork and exec.
enum ProcessMemory {
    static var peakResidentMegabytes: Double {
        if let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
           let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
           let kilobytes = Double(line.split(separator: " ").dropFirst().first ?? "") {
            return kilobytes / 1024
        }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1024
    }
}

/// Raw tensor files: .u8 (uint8 / 255) and .f32 (float32), little-endian, no header.
enum RawTensorFile {
    enum Failure: Error, CustomStringConvertible {
        case sizeMismatch(path: String, expected: Int, actual: Int)
        case unknownExtension(String)
        var description: String {
            switch self {
            case let .sizeMismatch(path, expected, actual): return "\(path) holds \(actual) bytes; the shape needs \(expected)"
            case let .unknownExtension(path): return "\(path): expected a .u8 or .f32 file"
            }
        }
    }

    static func read(path: String, shape: [Int]) throws -> Tensor {
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        let count = shape.reduce(1, *)
        if path.hasSuffix(".u8") {
            guard data.count == count else { throw Failure.sizeMismatch(path: path, expected: count, actual: data.count) }
            return Tensor(shape: shape, values: data.map { Float($0) / 255 })
        }
        guard path.hasSuffix(".f32") else { throw Failure.unknownExtension(path) }
        guard data.count == count * 4 else { throw Failure.sizeMismatch(path: path, expected: count * 4, actual: data.count) }
        let values = data.withUnsafeBytes { raw in (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        return Tensor(shape: shape, values: values)
    }

    static func write(_ tensor: Tensor, path: String) throws {
        let data = tensor.values.withUnsafeBufferPointer { Data(buffer: $0) }
        try data.write(to: URL(fileURLWithPath: path))
    }
}
