import Engine
import Foundation
import Imaging
import ModelFormats

/// A MegaDetector v2-v4 frozen graph run natively: the structure is verified at load, the
/// hyper-parameters the pipeline needs are read from the file (`FasterRCNNHyperparameters`: resizer
/// range, crop size, anchors, NMS thresholds and limits; the class count from the weights), the
/// convolutional parts run on the Engine (first stage per input size, cached; second stage, crops
/// included, batched over the proposals), and the rest (proposals, post-processing) is TensorFlow's
/// arithmetic in Swift. Immutable after load except for the network cache, which is locked; per-worker
/// buffers live in a `RunState`.
public final class FasterRCNNModel: @unchecked Sendable {
    // Safety: `firstStages` is only touched under `lock`; everything else is immutable after init.
    public let path: String
    public let summary: FasterRCNNGraph.Summary
    public let preprocessor: FasterRCNNPreprocessor
    public let cropSize: Int
    public let backend: ExecutionBackend
    let graph: TFGraphDef
    let secondStage: Network
    var firstStages: [String: Network] = [:]
    let lock = NSLock()
    /// Resizer range, crop size, anchors and NMS thresholds, as the file says.
    public let hyperparameters: FasterRCNNHyperparameters
    let proposalStage: FasterRCNNProposals
    let detectionStage: FasterRCNNSecondStage

    static let preprocessedInput = "Preprocessor/sub"
    static let featuresInput = "features"
    static let boxesInput = "boxes"
    static let backboneOutput = "FirstStageFeatureExtractor/InceptionResnetV2/InceptionResnetV2/Repeat_1/block17_20/Relu"
    static let rpnBoxes = "FirstStageBoxPredictor/BoxEncodingPredictor/BiasAdd"
    static let rpnObjectness = "FirstStageBoxPredictor/ClassPredictor/BiasAdd"
    static let classLogits = "SecondStageBoxPredictor/ClassPredictor/BiasAdd"
    static let boxEncodings = "SecondStageBoxPredictor/BoxEncodingPredictor/BiasAdd"

    public init(path: String, backend: ExecutionBackend = .oneDNN) throws {
        self.path = path
        self.backend = backend
        let graph = try TensorFlowGraphFile.open(path)
        self.graph = graph
        summary = try FasterRCNNGraph.inspect(graph)
        // TensorFlow reads a constant without values as zeros; a detector whose weights are gone (a
        // stripped or damaged file) would compute nothing useful, so it is refused instead.
        guard summary.weightBytes >= summary.weightCount * 4 * 99 / 100 else {
            throw ModelFormatError.unexpectedGraph("its weights are missing (\(summary.weightBytes) bytes stored for \(summary.weightCount) float weights)")
        }
        let nodes = try graph.nodesByName()
        hyperparameters = try FasterRCNNHyperparameters.read(graph)
        preprocessor = FasterRCNNPreprocessor(minDimension: hyperparameters.minDimension, maxDimension: hyperparameters.maxDimension)
        cropSize = hyperparameters.cropSize
        var proposals = FasterRCNNProposals()
        proposals.scales = hyperparameters.anchorScales
        proposals.aspectRatios = hyperparameters.anchorAspectRatios
        proposals.baseSize = Float(hyperparameters.anchorBaseSize)
        proposals.stride = Float(hyperparameters.anchorStride)
        proposals.iouThreshold = hyperparameters.firstStageIoUThreshold
        proposals.maxProposals = hyperparameters.maxProposals
        guard proposals.anchorsPerCell == summary.anchorsPerCell else {
            throw ModelFormatError.unexpectedGraph("\(proposals.anchorsPerCell) anchors per cell from the anchor generator, \(summary.anchorsPerCell) from the RPN weights")
        }
        proposalStage = proposals
        var detections = FasterRCNNSecondStage()
        detections.iouThreshold = hyperparameters.secondStageIoUThreshold
        detections.maxPerClass = hyperparameters.maxDetectionsPerClass
        detectionStage = detections
        // The second stage starts at what the crops are reshaped into, just before MaxPool2D.
        guard let pool = nodes["MaxPool2D/MaxPool"], let source = pool.inputs.first else {
            throw ModelFormatError.unexpectedGraph("node MaxPool2D/MaxPool is missing")
        }
        let backboneChannels = try Self.backboneChannels(nodes)
        let heads = try TFConvolutionalSubgraph.build(graph, from: source, to: [Self.classLogits, Self.boxEncodings],
                                                     batch: proposalStage.maxProposals, height: cropSize, width: cropSize,
                                                     channels: backboneChannels)
        // The crops are made inside the second stage's run, so that 300 x 17 x 17 x 1088 floats are
        // written once, channels-last, into a buffer reused from photo to photo.
        let crop = Graph.Node(name: "CropAndResize", operation: CropAndResize(cropHeight: cropSize, cropWidth: cropSize),
                              inputs: [Self.featuresInput, Self.boxesInput], outputs: [TFConvolutionalSubgraph.inputName])
        let second = try Graph(inputs: [.init(name: Self.featuresInput, shape: [1, backboneChannels, -1, -1]),
                                        .init(name: Self.boxesInput, shape: [proposalStage.maxProposals, 4])],
                               outputs: heads.outputs, nodes: [crop] + heads.nodes, constants: heads.constants)
        // Planned for a 600x800 photo's stride-8 features; other sizes only change the crop sampling.
        secondStage = try Network(graph: second, backend: backend,
                                  planningInputShapes: [Self.featuresInput: [1, backboneChannels, 75, 100],
                                                        Self.boxesInput: [proposalStage.maxProposals, 4]])
    }

    /// Channels of block17_20, from the up-projection weights of its residual.
    static func backboneChannels(_ nodes: [String: TFNode]) throws -> Int {
        let name = "FirstStageFeatureExtractor/InceptionResnetV2/Repeat_1/block17_20/Conv2d_1x1/weights"
        guard case let .tensor(tensor) = nodes[name]?.attributes["value"], let shape = tensor.shape, shape.count == 4 else {
            throw ModelFormatError.unexpectedGraph("node \(name) is missing")
        }
        return shape[3]
    }

    /// First stages (and run states) kept per preprocessed size: photos of a few cameras come in a few
    /// sizes; a folder of many sizes rebuilds rather than holding every size's weights.
    static let cachedSizes = 4

    /// The first stage for one preprocessed size (built once per size).
    func firstStage(height: Int, width: Int) throws -> Network {
        let key = "\(height)x\(width)"
        lock.lock()
        defer { lock.unlock() }
        if let network = firstStages[key] { return network }
        if firstStages.count >= Self.cachedSizes, let evicted = firstStages.keys.first { firstStages[evicted] = nil }
        let subgraph = try TFConvolutionalSubgraph.build(graph, from: Self.preprocessedInput,
                                                        to: [Self.backboneOutput, Self.rpnBoxes, Self.rpnObjectness],
                                                        height: height, width: width, channels: 3)
        let network = try Network(graph: subgraph, backend: backend, planningInputShapes: [TFConvolutionalSubgraph.inputName: [1, 3, height, width]])
        firstStages[key] = network
        return network
    }

    /// One worker's execution state: the oneDNN primitives and activation buffers of both stages, kept
    /// from photo to photo (re-creating them costs about a second per photo). Not thread-safe: one per
    /// concurrent worker; the model underneath is shared.
    public final class RunState {
        var firstStages: [String: ExecutionContext] = [:]
        var secondStage: ExecutionContext?

        public init() {}
    }

    /// The graph's detections for a photo: at most 100, best first, normalised [ymin, xmin, ymax, xmax].
    public func detect(_ image: RGBImage, state: RunState = RunState()) throws -> [FasterRCNNSecondStage.Detection] {
        try detect(preprocessed: preprocessor.preprocess(image), state: state)
    }

    /// The detections for an input already preprocessed by `preprocessor` ([1, height, width, 3]).
    public func detect(preprocessed input: Tensor, state: RunState = RunState()) throws -> [FasterRCNNSecondStage.Detection] {
        let (height, width) = (input.shape[1], input.shape[2])
        let first = try firstStage(height: height, width: width)
        let key = "\(height)x\(width)"
        let firstContext = state.firstStages[key].flatMap { $0.network === first ? $0 : nil } ?? ExecutionContext(network: first)
        if state.firstStages[key] == nil, state.firstStages.count >= Self.cachedSizes, let evicted = state.firstStages.keys.first {
            state.firstStages[evicted] = nil
        }
        state.firstStages[key] = firstContext
        let outputs = try firstContext.run([TFConvolutionalSubgraph.inputName: input.nhwcToNCHW()])
        let names = first.graph.outputs
        guard let features = outputs[names[0]], let boxes = outputs[names[1]], let objectness = outputs[names[2]] else {
            throw ModelFormatError.unexpectedGraph("the first stage produced no output")
        }
        let (proposals, count) = proposalStage.proposals(boxEncodings: boxes.nchwToNHWC().values, objectnessLogits: objectness.nchwToNHWC().values,
                                                         gridHeight: boxes.shape[2], gridWidth: boxes.shape[3],
                                                         imageHeight: height, imageWidth: width)
        let secondContext = state.secondStage ?? ExecutionContext(network: secondStage)
        state.secondStage = secondContext
        let heads = try secondContext.run([Self.featuresInput: features,
                                           Self.boxesInput: Tensor(shape: [proposals.count, 4], values: proposals.flatMap { $0 })])
        let headNames = secondStage.graph.outputs
        guard let logits = heads[headNames[0]], let encodings = heads[headNames[1]] else {
            throw ModelFormatError.unexpectedGraph("the second stage produced no output")
        }
        return detectionStage.detections(proposals: proposals, count: count, classLogits: logits.values, boxEncodings: encodings.values,
                                         classCount: summary.classCount, imageHeight: height, imageWidth: width)
    }
}
