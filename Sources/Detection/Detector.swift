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
    /// For MegaDetector v2-v4 graphs: the graph's own input pipeline instead of the letterbox.
    public var tensorFlowPreprocessor: FasterRCNNPreprocessor?
    /// For networks with a fixed input size (ONNX exports without dynamic axes): every photo is
    /// letterboxed to exactly this size (`auto=False`), not to `imageSize` rounded to the stride.
    public var fixedInputSize: (width: Int, height: Int)?

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
        var configuration = DetectorConfiguration(imageSize: imageSize ?? modelDefault, stride: modelDefault == 1280 ? 64 : 32,
                                                  threshold: threshold, classMapping: classMapping)
        let shape = model.info.inputShape
        if shape.count == 4, shape.allSatisfy({ $0 > 0 }) {
            configuration.fixedInputSize = (shape[3], shape[2])
            configuration.imageSize = max(shape[2], shape[3])
        }
        return configuration
    }
}

public enum DetectionError: Error, CustomStringConvertible {
    case unexpectedClass(Int)
    case unexpectedOutput([Int])
    case augmentationUnavailable
    case augmentationNotBuilt(String)
    case unsupportedForTensorFlowGraphs(String)
    case fixedInputSize(option: String, width: Int, height: Int)
    case notADetector(String)

    public var description: String {
        switch self {
        case let .unexpectedClass(index): return "the model produced class \(index + 1), which is not a MegaDetector class (give --class-mapping)"
        case let .augmentationNotBuilt(architecture):
            return "--augment is built for YOLOv5 models only; this model is \(architecture) (run without --augment)"
        case .augmentationUnavailable: return "--augment needs a YOLOv5 .pt model (its strides are not known for this file)"
        case let .unexpectedOutput(shape): return "network output \(shape) is neither YOLOv5 rows [1, N, 5 + classes] nor anchor-free [1, 4 + classes, N]"
        case let .unsupportedForTensorFlowGraphs(option): return "\(option) is not supported for MegaDetector v2-v4 (.pb) models, as in the reference"
        case let .notADetector(architecture):
            return "this model is an image classifier (\(architecture)), not a detector: `detect` needs a MegaDetector model as MODEL"
        case let .fixedInputSize(option, width, height):
            return "\(option) does not apply to this model: it was exported for a fixed \(width)x\(height) input (photos are letterboxed to that size); export with dynamic axes to choose the size"
        }
    }
}

/// Photo -> detections. Holds one execution context, so use one Detector per concurrent worker; the
/// loaded model underneath is shared and immutable.
public final class Detector {
    /// The YOLOv5/ONNX network, or nil for a MegaDetector v2-v4 graph (`fasterRCNN`).
    public let model: LoadedModel?
    public let fasterRCNN: FasterRCNNModel?
    public let configuration: DetectorConfiguration
    /// The precision the network runs in (recorded in results files and checkpoints).
    public let precision: PrecisionRecord
    private let context: ExecutionContext?
    private let fasterRCNNState = FasterRCNNModel.RunState()
    /// Networks of a dynamic-size ONNX export, by input shape, most recently made last. At most
    /// `boundShapeLimit`: each holds its own prepared weights, and a job's photos rarely have more
    /// than a few aspect ratios.
    private var boundContexts: [(shape: [Int], context: ExecutionContext)] = []
    static let boundShapeLimit = 4

    public init(model: LoadedModel, configuration: DetectorConfiguration, precision: PrecisionRecord = .fp32) {
        self.model = model
        fasterRCNN = nil
        self.configuration = configuration
        self.precision = precision
        context = ExecutionContext(network: model.network)
    }

    /// A MegaDetector v2-v4 graph with the reference's TFDetector conventions.
    public init(fasterRCNN: FasterRCNNModel, threshold: Double) {
        model = nil
        self.fasterRCNN = fasterRCNN
        var configuration = DetectorConfiguration(imageSize: fasterRCNN.preprocessor.maxDimension, stride: 1, threshold: threshold)
        configuration.tensorFlowPreprocessor = fasterRCNN.preprocessor
        self.configuration = configuration
        precision = .fp32
        context = nil
    }

    /// Opens any supported model file for detection: `.pb` as a MegaDetector v2-v4 graph (which takes
    /// neither an image size nor augmentation, as in the reference), anything else through `ModelLoader`.
    public static func load(path: String, backend: ExecutionBackend, threshold: Double, imageSize: Int? = nil,
                            classMapping: [Int: String]? = nil, augment: Bool = false,
                            precision: PrecisionRequest = PrecisionRequest()) throws -> Detector {
        if path.lowercased().hasSuffix(".pb") {
            if precision.precision != .fp32 { throw Int8Calibration.Failure.notForTensorFlowGraphs }
            if imageSize != nil { throw DetectionError.unsupportedForTensorFlowGraphs("--image-size") }
            if augment { throw DetectionError.unsupportedForTensorFlowGraphs("--augment") }
            if classMapping != nil { throw DetectionError.unsupportedForTensorFlowGraphs("--class-mapping") }
            return Detector(fasterRCNN: try FasterRCNNModel(path: path, backend: backend), threshold: threshold)
        }
        // bf16 and int8 convert the loaded network at once: loading it on the reference backend skips
        // preparing float32 oneDNN weights that would be thrown away (applyPrecision moves it to `backend`).
        let loadingBackend: ExecutionBackend = precision.precision == .fp32 ? backend : .reference
        var loaded = try ModelLoader.load(path: path, backend: loadingBackend)
        if loaded.info.outputKind == .classifierLogits { throw DetectionError.notADetector(loaded.info.architecture) }
        var configuration = DetectorConfiguration.defaults(for: loaded, imageSize: imageSize, threshold: threshold, classMapping: classMapping)
        if let fixed = configuration.fixedInputSize {
            if imageSize != nil { throw DetectionError.fixedInputSize(option: "--image-size", width: fixed.width, height: fixed.height) }
            if augment { throw DetectionError.fixedInputSize(option: "--augment", width: fixed.width, height: fixed.height) }
        }
        if augment, loaded.info.outputKind.isAnchorFree { throw DetectionError.augmentationNotBuilt(loaded.info.architecture) }
        configuration.augment = augment
        let record = try applyPrecision(precision, to: &loaded, path: path, configuration: configuration, backend: backend)
        // Nothing converts this network again (a dynamic-size export's other sizes load anew through
        // `rebind`), so the graph's float32 weights go: oneDNN holds its own copies.
        loaded.network = loaded.network.releasingGraphWeights()
        return Detector(model: loaded, configuration: configuration, precision: record)
    }

    /// The reference TFDetector's records: score above the threshold (compared in float32), category
    /// the 1-based class, bbox [xmin, ymin, width, height] (width and height in float32) truncated to
    /// 4 decimals, confidence truncated to 3.
    static func records(_ detections: [FasterRCNNSecondStage.Detection], threshold: Double) -> [DetectionResult] {
        detections.filter { $0.score > Float(threshold) }.map { detection in
            let b = detection.box
            let bbox = [b[1], b[0], b[3] - b[1], b[2] - b[0]].map { BoxMapping.truncate(Double($0), digits: 4) }
            return DetectionResult(category: String(detection.classId), conf: BoxMapping.truncate(Double(detection.score), digits: 3), bbox: bbox)
        }
    }

    /// Runs the network on a preprocessed input and returns the detections for the photo.
    public func detect(tensor: Tensor, imageWidth: Int, imageHeight: Int) throws -> [DetectionResult] {
        if let fasterRCNN { return Self.records(try fasterRCNN.detect(preprocessed: tensor, state: fasterRCNNState), threshold: configuration.threshold) }
        guard let model else { return [] }
        return BoxMapping.detections(try suppressedBoxes(tensor), inputWidth: tensor.shape[3], inputHeight: tensor.shape[2], imageWidth: imageWidth,
                                     imageHeight: imageHeight, threshold: configuration.threshold,
                                     inverse: model.info.modelType == .ultralytics ? .ultralytics : .yolov5, category: categoryName)
    }

    /// The photo's boxes before MegaDetector's truncation, in NMS order (for writers with other
    /// conventions: speciesnet rounds to 4 decimals). YOLO models only.
    public func detectBoxes(_ image: RGBImage) throws -> [BoxMapping.MappedBox] {
        guard let model, fasterRCNN == nil else { throw DetectionError.unsupportedForTensorFlowGraphs("speciesnet output (--output-format speciesnet)") }
        let tensor = configuration.networkInput(image)
        return BoxMapping.mappedBoxes(try suppressedBoxes(tensor), inputWidth: tensor.shape[3], inputHeight: tensor.shape[2],
                                      imageWidth: image.width, imageHeight: image.height, threshold: configuration.threshold,
                                      inverse: model.info.modelType == .ultralytics ? .ultralytics : .yolov5, category: categoryName)
    }

    /// MegaDetector's 1-based category, or the class mapping's key.
    private func categoryName(_ index: Int) -> String? {
        configuration.classMapping.map { $0[index] ?? String(index) } ?? String(index + 1)
    }

    /// The network's output through the model family's box selection, in network-input pixels.
    private func suppressedBoxes(_ tensor: Tensor) throws -> [PixelBox] {
        guard let model else { return [] }
        let output: Tensor
        if configuration.augment {
            guard let maximumStride = model.info.strides.max() else { throw DetectionError.augmentationUnavailable }
            output = try TestTimeAugmentation.run(tensor, maximumStride: Int(maximumStride), levels: model.info.strides.count) {
                try forward($0)
            }
        } else {
            output = try forward(tensor)
        }
        let boxes = output.values.withUnsafeBufferPointer { values in
            switch model.info.outputKind {
            case .anchorFree:
                AnchorFreeNonMaximumSuppression.run(output: values, rows: output.shape[1], anchors: output.shape[2], threshold: configuration.threshold,
                                                    sortsFirst: model.info.modelType == .yolov9)
            case .endToEnd:
                EndToEndSelection.run(output: values, rows: output.shape[1], anchors: output.shape[2], threshold: configuration.threshold)
            case .yolov5Decoded, .raw:
                NonMaximumSuppression.run(rows: values, columns: output.shape[2], threshold: configuration.threshold)
            case .classifierLogits:
                [PixelBox]()  // never reached: `load` refuses classifiers
            }
        }
        if configuration.classMapping == nil, let bad = boxes.first(where: { $0.classIndex > 2 }) {
            throw DetectionError.unexpectedClass(bad.classIndex)
        }
        return boxes
    }

    private func forward(_ tensor: Tensor) throws -> Tensor {
        guard let model, let context else { throw DetectionError.unexpectedOutput([]) }
        let outputs = try self.context(for: tensor.shape, model: model, default: context).run([model.info.inputName: tensor])
        // YOLOv5 rows [1, N, 5 + classes]; anchor-free [1, 4 + classes, N].
        let (axis, minimum) = model.info.outputKind.isAnchorFree ? (1, 5) : (2, 6)
        guard let output = outputs[model.info.outputName], output.rank == 3, output.shape[0] == 1, output.shape[axis] >= minimum else {
            throw DetectionError.unexpectedOutput(outputs[model.info.outputName]?.shape ?? [])
        }
        return output
    }

    /// The context whose network takes `shape`: the loaded one, or for a dynamic-size ONNX export one
    /// converted for that shape (in the loaded network's precision).
    private func context(for shape: [Int], model: LoadedModel, default loaded: ExecutionContext) throws -> ExecutionContext {
        guard let rebind = model.rebind, model.network.graph.inputs.first?.shape != shape else { return loaded }
        if let index = boundContexts.firstIndex(where: { $0.shape == shape }) { return boundContexts[index].context }
        var network = try rebind(shape)
        if model.network.precision.precision != .fp32 {
            network = try network.with(precision: model.network.precision, backend: model.network.backend)
        }
        let context = ExecutionContext(network: network.releasingGraphWeights())
        boundContexts.append((shape, context))
        if boundContexts.count > Self.boundShapeLimit { boundContexts.removeFirst() }
        return context
    }

    public func detect(_ image: RGBImage) throws -> [DetectionResult] {
        try detect(tensor: configuration.networkInput(image), imageWidth: image.width, imageHeight: image.height)
    }
}
