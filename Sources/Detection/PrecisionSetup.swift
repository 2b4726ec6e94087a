import Diagnostics
import Engine
import Foundation
import ModelFormats
import ResultsFormat

/// What a run asks for: a precision and, for int8, where the scales come from.
public struct PrecisionRequest: Sendable {
    public var precision: Precision
    /// A table written by `megadetector calibrate` (else the cached default, else a new default).
    public var calibrationFile: String?
    /// Photos the default calibration may sample (a job's own photos), when no table exists yet.
    public var calibrationPhotos: [String]
    /// false: without a table, refuse (the batch service: shards must not calibrate each on its own).
    public var measuresMissingCalibration: Bool

    public init(precision: Precision = .fp32, calibrationFile: String? = nil, calibrationPhotos: [String] = [],
                measuresMissingCalibration: Bool = true) {
        self.precision = precision
        self.calibrationFile = calibrationFile
        self.calibrationPhotos = calibrationPhotos
        self.measuresMissingCalibration = measuresMissingCalibration
    }
}

/// What a detector runs in, as results files and checkpoints record it; resuming compares these.
public struct PrecisionRecord: Sendable, Equatable {
    public var precision: Precision
    /// `CalibrationTable.fingerprint` (int8 only).
    public var calibrationFingerprint: String?
    /// Where the scales came from (int8 only): a sentence naming the photos and the table's path.
    public var calibrationSource: String?

    public static let fp32 = PrecisionRecord(precision: .fp32)

    public init(precision: Precision, calibrationFingerprint: String? = nil, calibrationSource: String? = nil) {
        self.precision = precision
        self.calibrationFingerprint = calibrationFingerprint
        self.calibrationSource = calibrationSource
    }

    /// Entries added to `info.detector_metadata` (the reference ignores fields it does not know).
    public var metadataEntries: [(String, JSONValue)] {
        var entries: [(String, JSONValue)] = [("precision", .string(precision.rawValue))]
        if let calibrationFingerprint {
            entries.append(("int8_calibration", .object(JSONObject([
                ("fingerprint", .string(calibrationFingerprint)), ("source", .string(calibrationSource ?? "")),
            ]))))
        }
        return entries
    }

    /// The record in a checkpoint or results file's metadata; a file without one was written in fp32
    /// (by the reference or an earlier version of this program).
    public init(metadata: JSONObject?) {
        precision = metadata?["precision"]?.string.flatMap(Precision.init(rawValue:)) ?? .fp32
        calibrationFingerprint = metadata?["int8_calibration"]?.object?["fingerprint"]?.string
        calibrationSource = metadata?["int8_calibration"]?.object?["source"]?.string
    }

    /// Why a run with `self` cannot continue one recorded as `earlier`, or nil when it can.
    public func resumeConflict(with earlier: PrecisionRecord) -> String? {
        if precision != earlier.precision {
            return "the checkpoint was written with --precision \(earlier.precision.rawValue), this run asks for \(precision.rawValue); resume with the same precision (mixing them would give one results file two kinds of numbers)"
        }
        if precision == .int8, calibrationFingerprint != earlier.calibrationFingerprint {
            return "the checkpoint was written with int8 calibration \(earlier.calibrationFingerprint ?? "unknown") (\(earlier.calibrationSource ?? "")), this run has \(calibrationFingerprint ?? "none"); pass that run's table with --calibration"
        }
        return nil
    }
}

extension Detector {
    /// Switches a loaded model to the requested precision: int8 finds or measures its scales first
    /// (a given table, else the cached default for this model and size, else a new default measured on
    /// photos sampled from the job and cached). Messages about the calibration go to stderr.
    /// `backend`: where the converted network runs (a bf16 or int8 model arrives loaded on the reference
    /// backend; int8 measures a missing calibration on a float32 copy on `backend`).
    static func applyPrecision(_ request: PrecisionRequest, to loaded: inout LoadedModel, path: String,
                               configuration: DetectorConfiguration, backend: ExecutionBackend) throws -> PrecisionRecord {
        switch request.precision {
        case .fp32:
            return .fp32
        case .bf16:
            loaded.network = try loaded.network.with(precision: .bf16, backend: backend)
            return PrecisionRecord(precision: .bf16)
        case .int8:
            // Refuse before measuring anything when the machine cannot run int8.
            if let reason = Precision.int8.unavailabilityReason { throw EngineError.unsupportedPrecision(reason) }
            if loaded.rebind != nil {
                throw EngineError.unsupportedPrecision("--precision int8 is not built for ONNX exports with a dynamic input size yet (calibration runs one network size); use fp32, or export with a fixed size")
            }
            let (table, origin) = try calibration(request, loaded: loaded, path: path, configuration: configuration, backend: backend)
            loaded.network = try loaded.network.with(precision: .int8(table.activationRanges), backend: backend)
            // Say how much runs in int8: at the default line a network with heavy-tailed activations
            // keeps most layers in fp32, and a user expecting a large speed-up should know why not.
            let choices = loaded.network.convolutionPrecisions.values
            let layers = "\(choices.filter { $0 == .int8 }.count) of \(choices.count) convolutions in int8"
            let line = Int(PrecisionPlan.defaultMinimumSignalToNoise)
            FileHandle.standardError.write(Data(("int8: \(layers); the others stay fp32 (the first, grouped and output "
                + "convolutions, and those whose inputs would keep less than \(line) dB after rounding to \(PrecisionPlan.selectionLevels) levels)\n").utf8))
            return PrecisionRecord(precision: .int8, calibrationFingerprint: table.fingerprint,
                                   calibrationSource: "\(table.source); table \(origin); \(layers)")
        }
    }

    private static func calibration(_ request: PrecisionRequest, loaded: LoadedModel, path: String,
                                    configuration: DetectorConfiguration, backend: ExecutionBackend) throws -> (CalibrationTable, String) {
        let modelMD5 = try ModelRegistry.md5(ofFile: path)
        if let file = request.calibrationFile {
            let table = try CalibrationTable.read(path: file)
            try Int8Calibration.check(table, path: file, modelMD5: modelMD5, imageSize: configuration.imageSize)
            return (table, file)
        }
        let cached = Int8Calibration.cachePath(modelMD5: modelMD5, imageSize: configuration.imageSize)
        if FileManager.default.fileExists(atPath: cached) {
            let table = try CalibrationTable.read(path: cached)
            try Int8Calibration.check(table, path: cached, modelMD5: modelMD5, imageSize: configuration.imageSize)
            FileHandle.standardError.write(Data("int8: using the cached calibration \(cached) (\(table.source))\n".utf8))
            return (table, cached)
        }
        guard request.measuresMissingCalibration else { throw Int8Calibration.Failure.notInstalled(path: cached) }
        let photos = Int8Calibration.sample(request.calibrationPhotos)
        let source = "\(photos.count) photos sampled evenly from the sorted list of the first int8 job for this model"
        FileHandle.standardError.write(Data("int8: no calibration for this model yet; measuring on \(photos.count) of this job's photos\n".utf8))
        var measured = loaded
        measured.network = try loaded.network.with(precision: .fp32, backend: backend)
        let table = try Int8Calibration.measure(model: measured, configuration: configuration, photos: photos, modelMD5: modelMD5,
                                                source: source)
        try table.write(to: cached)
        FileHandle.standardError.write(Data("int8: calibration saved to \(cached); later int8 runs of this model reuse it (give --calibration FILE to use another)\n".utf8))
        return (table, cached)
    }
}
