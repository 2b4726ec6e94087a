import Engine
import Foundation
import Imaging
import ModelFormats
import ResultsFormat

/// How detections are produced, mirroring the reference's PTDetector in classic mode.
public struct DetectorConfiguration: Sendable {
    /// Long side of the letterbox; the model's `megadetector_info.json` size, else 1280.
    public var imageSize: Int
    /// Letterbox stride: 64 when the model's default size is 1280 (YOLOv5*6), else 32 (the
    /// reference's heuristic, kept even when --image-size overrides the size).
    public var stride: Int
    public var threshold: Double
    /// Class index -> category key. nil: MegaDetector's classes, index + 1 ("1", "2", "3").
    public var classMapping: [Int: String]?
    /// YOLOv5 test-time augmentation (three scaled/flipped passes merged before NMS).
    public var augment = false

    public init(imageSize: Int, stride: Int, threshold: Double = 0.005, classMapping: [Int: String]? = nil) {
        self.imageSize = imageSize
        self.stride = stride
        self.threshold = threshold
        self.classMapping = classMapping
    }

    /// The reference's defaults for a loaded model, with optional overrides.
    public static func defaults(for model: LoadedModel, imageSize: Int? = nil, threshold: Double = 0.005,
                                classMapping: [Int: String]? = nil) -> DetectorConfiguration {
        let modelDefault = model.info.metadataImageSize ?? 1280
        return DetectorConfiguration(imageSize: imageSize ?? modelDefault, stride: modelDefault == 1280 ? 64 : 32,
                                     threshold: threshold, classMapping: classMapping)
    }
}

public enum DetectionError: Error, CustomStringConvertible {
    case unexpectedClass(Int)
    case unexpectedOutput([Int])
    case augmentationUnavailable

    public var description: String {
        switch self {
        case let .unexpectedClass(index): return "the model produced class \(index + 1), which is not a MegaDetector class (give --class-mapping)"
        case .augmentationUnavailable: return "--augment needs a YOLOv5 .pt model (its strides are not known for this file)"
        case let .unexpectedOutput(shape): return "network output \(shape) is not YOLOv5 rows [1, N, 5 + classes]"
        }
    }
}

/// Photo -> detections. Holds one execution context, so use one Detector per concurrent worker; the
/// loaded model underneath is shared and immutable.
public final class Detector {
    public let model: LoadedModel
    public let configuration: DetectorConfiguration
    private let context: ExecutionContext

    public init(model: LoadedModel, configuration: DetectorConfiguration) {
        self.model = model
        self.configuration = configuration
        context = ExecutionContext(network: model.network)
    }

    /// Runs the network on a preprocessed input and returns the detections for the photo.
    public func detect(tensor: Tensor, imageWidth: Int, imageHeight: Int) throws -> [DetectionResult] {
        let output: Tensor
        if configuration.augment {
            guard let maximumStride = model.info.strides.max() else { throw DetectionError.augmentationUnavailable }
            output = try TestTimeAugmentation.run(tensor, maximumStride: Int(maximumStride), levels: model.info.strides.count) {
                try forward($0)
            }
        } else {
            output = try forward(tensor)
        }
        let boxes = output.values.withUnsafeBufferPointer {
            NonMaximumSuppression.run(rows: $0, columns: output.shape[2], threshold: configuration.threshold)
        }
        if configuration.classMapping == nil, let bad = boxes.first(where: { $0.classIndex > 2 }) {
            throw DetectionError.unexpectedClass(bad.classIndex)
        }
        let mapping = configuration.classMapping
        return BoxMapping.detections(boxes, inputWidth: tensor.shape[3], inputHeight: tensor.shape[2], imageWidth: imageWidth,
                                     imageHeight: imageHeight, threshold: configuration.threshold) { index in
            mapping.map { $0[index] ?? String(index) } ?? String(index + 1)
        }
    }

    private func forward(_ tensor: Tensor) throws -> Tensor {
        let outputs = try context.run([model.info.inputName: tensor])
        guard let output = outputs[model.info.outputName], output.rank == 3, output.shape[2] > 5 else {
            throw DetectionError.unexpectedOutput(outputs[model.info.outputName]?.shape ?? [])
        }
        return output
    }

    public func detect(_ image: RGBImage) throws -> [DetectionResult] {
        let (tensor, _) = configuration.preprocess(image)
        return try detect(tensor: tensor, imageWidth: image.width, imageHeight: image.height)
    }
}
