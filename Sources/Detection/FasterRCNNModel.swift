import Engine
import Foundation
import Imaging
import ModelFormats

/// A MegaDetector v2-v4 frozen graph run natively: the structure is verified at load, the
/// hyper-parameters the pipeline needs are read from the file (resizer range, crop size, class
/// count), the convolutional parts run on the Engine (first stage per input size, cached; second
/// stage batched over the proposals), and the rest (proposals, crops, post-processing) is TensorFlow's
/// arithmetic in Swift. Immutable after load except for the network cache, which is locked.
public final class FasterRCNNModel: @unchecked Sendable {
    // Safety: `firstStages` is only touched under `lock`; everything else is immutable after init.
    public let path: String
    public let summary: FasterRCNNGraph.Summary
    public let preprocessor: FasterRCNNPreprocessor
    public let cropSize: Int
    public let backend: ExecutionBackend
    let graph: TFGraphDef
    let secondStage: Network
    let secondStageInput: (batch: Int, channels: Int)
    var firstStages: [String: Network] = [:]
    let lock = NSLock()
    let proposalStage = FasterRCNNProposals()
    let detectionStage = FasterRCNNSecondStage()

    static let preprocessedInput = "Preprocessor/sub"
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
        func integers(_ name: String) throws -> [Int] {
            guard case let .tensor(tensor) = nodes[name]?.attributes["value"] else {
                throw ModelFormatError.unexpectedGraph("node \(name) is missing or not a constant")
            }
            return try tensor.floats(in: graph.file, node: name).map { Int($0) }
        }
        let range = try integers("Preprocessor/map/while/ResizeToRange/cond/stack")
        guard range.count == 2, range[0] > 0, range[1] >= range[0] else {
            throw ModelFormatError.unexpectedGraph("the resizer range is \(range)")
        }
        preprocessor = FasterRCNNPreprocessor(minDimension: range[0], maxDimension: range[1])
        let crop = try integers("CropAndResize/CropAndResize/crop_size")
        guard crop.count == 2, crop[0] == crop[1], crop[0] > 1 else { throw ModelFormatError.unexpectedGraph("the crop size is \(crop)") }
        cropSize = crop[0]
        // The second stage starts at what the crops are reshaped into, just before MaxPool2D.
        guard let pool = nodes["MaxPool2D/MaxPool"], let source = pool.inputs.first else {
            throw ModelFormatError.unexpectedGraph("node MaxPool2D/MaxPool is missing")
        }
        let backboneChannels = try Self.backboneChannels(nodes)
        secondStageInput = (proposalStage.maxProposals, backboneChannels)
        let second = try TFConvolutionalSubgraph.build(graph, from: source, to: [Self.classLogits, Self.boxEncodings],
                                                      batch: proposalStage.maxProposals, height: cropSize, width: cropSize,
                                                      channels: backboneChannels)
        secondStage = try Network(graph: second, backend: backend,
                                  planningInputShapes: [TFConvolutionalSubgraph.inputName: [proposalStage.maxProposals, backboneChannels, cropSize, cropSize]])
    }

    /// Channels of block17_20, from the up-projection weights of its residual.
    static func backboneChannels(_ nodes: [String: TFNode]) throws -> Int {
        let name = "FirstStageFeatureExtractor/InceptionResnetV2/Repeat_1/block17_20/Conv2d_1x1/weights"
        guard case let .tensor(tensor) = nodes[name]?.attributes["value"], let shape = tensor.shape, shape.count == 4 else {
            throw ModelFormatError.unexpectedGraph("node \(name) is missing")
        }
        return shape[3]
    }

    /// The first stage for one preprocessed size (built once per size).
    func firstStage(height: Int, width: Int) throws -> Network {
        let key = "\(height)x\(width)"
        lock.lock()
        defer { lock.unlock() }
        if let network = firstStages[key] { return network }
        let subgraph = try TFConvolutionalSubgraph.build(graph, from: Self.preprocessedInput,
                                                        to: [Self.backboneOutput, Self.rpnBoxes, Self.rpnObjectness],
                                                        height: height, width: width, channels: 3)
        let network = try Network(graph: subgraph, backend: backend, planningInputShapes: [TFConvolutionalSubgraph.inputName: [1, 3, height, width]])
        firstStages[key] = network
        return network
    }

    /// The graph's detections for a photo: at most 100, best first, normalised [ymin, xmin, ymax, xmax].
    public func detect(_ image: RGBImage) throws -> [FasterRCNNSecondStage.Detection] {
        try detect(preprocessed: preprocessor.preprocess(image))
    }

    /// The detections for an input already preprocessed by `preprocessor` ([1, height, width, 3]).
    public func detect(preprocessed input: Tensor) throws -> [FasterRCNNSecondStage.Detection] {
        let (height, width) = (input.shape[1], input.shape[2])
        let first = try firstStage(height: height, width: width)
        let outputs = try first.run([TFConvolutionalSubgraph.inputName: input.nhwcToNCHW()])
        let names = first.graph.outputs
        guard let features = outputs[names[0]], let boxes = outputs[names[1]], let objectness = outputs[names[2]] else {
            throw ModelFormatError.unexpectedGraph("the first stage produced no output")
        }
        let (proposals, count) = proposalStage.proposals(boxEncodings: boxes.nchwToNHWC().values, objectnessLogits: objectness.nchwToNHWC().values,
                                                         gridHeight: boxes.shape[2], gridWidth: boxes.shape[3],
                                                         imageHeight: height, imageWidth: width)
        let crops = CropAndResize(cropHeight: cropSize, cropWidth: cropSize)
            .reference([features, Tensor(shape: [proposals.count, 4], values: proposals.flatMap { $0 })])[0]
        let heads = try secondStage.run([TFConvolutionalSubgraph.inputName: crops])
        let headNames = secondStage.graph.outputs
        guard let logits = heads[headNames[0]], let encodings = heads[headNames[1]] else {
            throw ModelFormatError.unexpectedGraph("the second stage produced no output")
        }
        return detectionStage.detections(proposals: proposals, count: count, classLogits: logits.values, boxEncodings: encodings.values,
                                         classCount: summary.classCount, imageHeight: height, imageWidth: width)
    }
}
