import Crypto
import ResultsFormat
import Diagnostics
import Engine
import Foundation
import Imaging
import ModelFormats

/// The int8 scales of one model: the largest magnitude each convolution source reaches on a set of
/// photos, letterboxed exactly as for detection. Saved as JSON tied to the model file's MD5 and the
/// network input size, so it is reproducible and can be shared or audited.
public struct CalibrationTable: Sendable, Equatable, Codable {
    public static let formatName = "megadetector-swift int8 calibration"
    public var format = CalibrationTable.formatName
    public var version = 1
    public var modelMD5: String
    /// Long side of the network input the photos were letterboxed to.
    public var imageSize: Int
    /// How the ranges were measured (one sentence).
    public var method = "[min, max] of each convolution's source over the photos, float32 forward, letterboxed as for detection"
    /// What the photos were (one sentence), and their file names.
    public var source: String
    public var photos: [String]
    /// Value name in the model's graph -> [min, max].
    public var ranges: [String: ClosedRange<Float>]
    /// Value name -> sum of squares and count of its values (their RMS decides which convolutions
    /// int8 keeps in fp32, see `PrecisionPlan`).
    public var squares: [String: ActivationRanges.SumOfSquares]

    public init(modelMD5: String, imageSize: Int, source: String, photos: [String], ranges: [String: ClosedRange<Float>],
                squares: [String: ActivationRanges.SumOfSquares]) {
        self.modelMD5 = modelMD5
        self.imageSize = imageSize
        self.source = source
        self.photos = photos
        self.ranges = ranges
        self.squares = squares
    }

    enum CodingKeys: String, CodingKey {
        case format, version, method, source, photos, ranges, squares
        case modelMD5 = "model_md5"
        case imageSize = "image_size"
    }

    public var activationRanges: ActivationRanges { ActivationRanges(bounds: ranges, squares: squares) }

    /// MD5 of the table's canonical JSON: names the calibration in results files and checkpoints, so a
    /// resume can refuse to mix scales.
    public var fingerprint: String {
        Insecure.MD5.hash(data: (try? Self.encoder.encode(self)) ?? Data()).map { String(format: "%02x", $0) }.joined()
    }

    static var encoder: JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return encoder
    }

    /// What a decoding error means, in words (Foundation's bridged description is "error 4865").
    static func explain(_ error: Error) -> String {
        guard let error = error as? DecodingError else { return ErrorMessage.sentence(for: error) }
        func at(_ context: DecodingError.Context) -> String {
            context.codingPath.isEmpty ? "" : " at \(context.codingPath.map(\.stringValue).joined(separator: "."))"
        }
        switch error {
        case let .keyNotFound(key, context): return "field '\(key.stringValue)' is missing\(at(context))"
        case let .typeMismatch(_, context), let .valueNotFound(_, context): return "\(context.debugDescription)\(at(context))"
        case let .dataCorrupted(context): return "\(context.debugDescription)\(at(context))"
        @unknown default: return "\(error)"
        }
    }

    public func write(to path: String) throws {
        try AtomicFile.write(try Self.encoder.encode(self), to: path)
    }

    public static func read(path: String) throws -> CalibrationTable {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Int8Calibration.Failure.unreadable(path: path, reason: "no such file")
        }
        let table: CalibrationTable
        do { table = try JSONDecoder().decode(CalibrationTable.self, from: data) } catch {
            throw Int8Calibration.Failure.unreadable(path: path, reason: "not a calibration file (\(Self.explain(error)))")
        }
        guard table.format == formatName, table.version == 1 else {
            throw Int8Calibration.Failure.unreadable(path: path, reason: "format '\(table.format)' version \(table.version) is not '\(formatName)' version 1")
        }
        return table
    }
}

/// Measures and finds int8 calibration tables.
public enum Int8Calibration {
    public enum Failure: Error, CustomStringConvertible {
        case unreadable(path: String, reason: String)
        case otherModel(path: String, tableMD5: String, modelMD5: String)
        case otherImageSize(path: String, tableSize: Int, modelSize: Int)
        case noUsablePhotos(tried: Int)
        case notInstalled(path: String)
        case notForTensorFlowGraphs

        public var description: String {
            switch self {
            case let .unreadable(path, reason): return "calibration file \(path): \(reason)"
            case let .otherModel(path, tableMD5, modelMD5):
                return "calibration file \(path) was made for the model with MD5 \(tableMD5), not this one (\(modelMD5)); run `megadetector calibrate` for this model"
            case let .otherImageSize(path, tableSize, modelSize):
                return "calibration file \(path) was measured at image size \(tableSize), this run uses \(modelSize); calibrate at this size"
            case let .notInstalled(path):
                return "int8 needs this model's calibration at \(path) on the machine that runs it; make it there with `megadetector calibrate MODEL PHOTOS... --install`"
            case let .noUsablePhotos(tried):
                return "int8 calibration found no readable photo among the \(tried) it tried"
            case .notForTensorFlowGraphs:
                return "--precision int8 and bf16 run YOLO models (.pt, .onnx); MegaDetector v2-v4 graphs (.pb) run in fp32 only"
            }
        }
    }

    /// How many photos the default calibration takes from a job (evenly spread over the sorted list).
    public static let defaultPhotoCount = 16

    /// Up to `count` photos spread evenly over the paths in sorted order: the choice depends on which
    /// photos a job has, never on the order in which they are listed or run.
    public static func sample(_ paths: [String], count: Int = defaultPhotoCount) -> [String] {
        let sorted = Array(Set(paths)).sorted()
        guard sorted.count > count else { return sorted }
        return (0..<count).map { sorted[$0 * sorted.count / count] }
    }

    /// Runs the float32 network over the photos (unreadable ones are skipped and named on stderr).
    public static func measure(model: LoadedModel, configuration: DetectorConfiguration, photos: [String], modelMD5: String,
                               source: String) throws -> CalibrationTable {
        var ranges = ActivationRanges()
        var used: [String] = []
        for path in photos {
            let image: RGBImage
            do { image = try ImageDecoder.decode(path: path).image } catch {
                FileHandle.standardError.write(Data("int8 calibration skips \(path): \(ErrorMessage.sentence(for: error))\n".utf8))
                continue
            }
            let input = configuration.networkInput(image)
            ranges.merge(try ActivationRanges.measure(model.network, inputs: [model.info.inputName: input]))
            used.append((path as NSString).lastPathComponent)
        }
        guard !used.isEmpty else { throw Failure.noUsablePhotos(tried: photos.count) }
        return CalibrationTable(modelMD5: modelMD5, imageSize: configuration.imageSize, source: source, photos: used,
                                ranges: ranges.bounds, squares: ranges.squares)
    }

    /// Where the default calibration of a model is kept: next to the downloaded models.
    public static func cachePath(modelMD5: String, imageSize: Int) -> String {
        ((ModelRegistry.cacheFolder as NSString).appendingPathComponent("int8-calibration") as NSString)
            .appendingPathComponent("\(modelMD5)-\(imageSize).json")
    }

    /// Checks that a table belongs to this model and input size.
    public static func check(_ table: CalibrationTable, path: String, modelMD5: String, imageSize: Int) throws {
        guard table.modelMD5 == modelMD5 else { throw Failure.otherModel(path: path, tableMD5: table.modelMD5, modelMD5: modelMD5) }
        guard table.imageSize == imageSize else { throw Failure.otherImageSize(path: path, tableSize: table.imageSize, modelSize: imageSize) }
    }
}
