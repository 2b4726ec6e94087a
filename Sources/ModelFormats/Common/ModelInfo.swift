import Engine

/// The reference's `model_type`: which library's letterbox, NMS and box mapping it routes a model to.
public enum ModelType: String, Sendable {
    /// The reference's own `nms()` and yolov5's `scale_boxes`.
    case yolov5
    /// ultralytics' `non_max_suppression` and `scale_boxes`.
    case ultralytics
    /// yolov9pip's `non_max_suppression` (candidates sorted by PyTorch's argsort first) and its
    /// yolov5-style `scale_boxes`.
    case yolov9
}

/// What a loaded model is, for `megadetector model-info` and for the detector that runs it.
public struct ModelInfo: Sendable {
    public enum OutputKind: String, Sendable {
        /// YOLOv5 Detect output [N, rows, 5 + classes]: cx, cy, w, h in input pixels, objectness, class scores.
        case yolov5Decoded = "YOLOv5 decoded boxes"
        /// Ultralytics' anchor-free Detect output [N, 4 + classes, anchors]: cx, cy, w, h in input
        /// pixels, then class scores (no objectness).
        case anchorFree = "anchor-free boxes [N, 4 + classes, anchors]"
        /// An end-to-end (NMS-free) head's one-to-one output [N, 4 + classes, anchors]: x1, y1, x2, y2
        /// in input pixels, then class scores; detections are its top-k scores (YOLOv10, YOLO26).
        case endToEnd = "end-to-end corner boxes [N, 4 + classes, anchors] (top-k, no NMS)"
        /// A network whose head we do not decode (returned as the graph computes it).
        case raw = "raw network output"
        /// An image classifier's logits [N, classes] (SpeciesNet's layout: NHWC input in [0, 1]).
        case classifierLogits = "classifier logits [N, classes]"

        /// `[N, 4 + classes, anchors]`, one column per anchor (rather than YOLOv5's rows).
        public var isAnchorFree: Bool { self == .anchorFree || self == .endToEnd }
    }

    public var path: String
    public var format: String
    public var architecture: String
    public var parameterCount: Int
    public var classNames: [String]
    public var strides: [Float]
    public var anchorsInPixels: [[(width: Float, height: Float)]]
    public var defaultInputSize: Int
    /// `image_size` from the file's `megadetector_info.json` (MDv1000 models), when present.
    public var metadataImageSize: Int? = nil
    /// The reference's model type, which decides its pre- and post-processing library (the file's
    /// `megadetector_info.json` says the same for MDv1000 files).
    public var modelType: ModelType = .yolov5
    public var storagePrecision: String
    public var layerCount: Int
    public var outputKind: OutputKind
    public var inputName: String
    public var outputName: String
    public var inputShape: [Int]
    public var loadSeconds: Double
}

/// A model ready to run: the immutable network plus what we know about it.
public struct LoadedModel: Sendable {
    /// Replaced by a reduced-precision copy of itself when a run asks for one.
    public var network: Network
    public var info: ModelInfo
    /// For networks converted for one input size (ONNX exports with dynamic height and width): makes
    /// the network for another input shape. nil when `network` takes any size (YOLOv5 checkpoints) or
    /// only its fixed one.
    public var rebind: (@Sendable ([Int]) throws -> Network)? = nil

    public init(network: Network, info: ModelInfo) {
        self.network = network
        self.info = info
    }
}
