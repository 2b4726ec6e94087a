/// Recognises the TF1 Object Detection API export that MegaDetector v2, v3 and v4.1 are (Faster R-CNN,
/// InceptionResNetV2, atrous, stride 8) and refuses anything else by name, before a single number is
/// computed: the graph's interface nodes, the landmarks of both stages, the op vocabulary, and the
/// predictor weight shapes (which give the class count; the training configs' `num_classes` is not
/// to be trusted). Names and shapes follow an export made with the same exporter code
/// (Tests/Fixtures/mdv4/make_mdv4_fixtures.py).
public enum FasterRCNNGraph {
    public struct Summary: Sendable, Equatable {
        public var nodeCount: Int
        public var producer: Int
        public var opCounts: [String: Int]
        /// Detection classes (without the background class).
        public var classCount: Int
        /// Anchors per feature-map cell of the region proposal network.
        public var anchorsPerCell: Int
        /// Float weights stored in the file (0 for a skeleton whose constant contents were removed).
        public var weightBytes: Int
        public var weightCount: Int
    }

    /// Nodes the exporter always writes, with the op each must be.
    static let landmarks: [(name: String, op: String)] = [
        ("image_tensor", "Placeholder"),
        ("detection_boxes", "Identity"), ("detection_scores", "Identity"), ("detection_classes", "Identity"), ("num_detections", "Identity"),
        ("FirstStageFeatureExtractor/InceptionResnetV2/InceptionResnetV2/Repeat_1/block17_20/Relu", "Relu"),
        ("SecondStageFeatureExtractor/InceptionResnetV2/Conv2d_7b_1x1/Relu", "Relu"),
        ("FirstStageBoxPredictor/ClassPredictor/weights", "Const"),
        ("FirstStageBoxPredictor/BoxEncodingPredictor/weights", "Const"),
        ("SecondStageBoxPredictor/ClassPredictor/weights", "Const"),
        ("SecondStageBoxPredictor/BoxEncodingPredictor/weights", "Const"),
        ("SecondStageFeatureExtractor/InceptionResnetV2/Conv2d_7b_1x1/weights", "Const"),
    ]

    /// The ops these exports use, with the older spellings TF 1.x exporters wrote for the same math
    /// (Add, Concat, FusedBatchNorm, Gather, NonMaxSuppressionV2-V4) and the plumbing of the TF1-era
    /// resizer and post-processing (Max in the resizer's cond, StopGradient on the proposals).
    static let knownOps: Set<String> = [
        "Add", "AddV2", "All", "ArgMax", "Assert", "AvgPool", "BatchToSpaceND", "BiasAdd", "Cast", "Concat", "ConcatV2", "Const", "Conv2D",
        "CropAndResize", "Enter", "Equal", "Exit", "Exp", "ExpandDims", "Fill", "FloorMod", "FusedBatchNorm", "FusedBatchNormV3",
        "Gather", "GatherV2", "Greater", "GreaterEqual", "Identity", "Less", "LogicalAnd", "LoopCond", "MatMul", "Max", "MaxPool", "Maximum", "Mean",
        "Merge", "Minimum", "Mul", "NextIteration", "NoOp", "NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4",
        "NonMaxSuppressionV5", "Pack", "Pad", "Placeholder", "Prod", "Range", "Rank", "RealDiv", "Relu", "Relu6", "Reshape",
        "ResizeBilinear", "Round", "Select", "Shape", "Size", "Slice", "Softmax", "SpaceToBatchND", "Split", "Sqrt", "Squeeze", "StopGradient",
        "StridedSlice", "Sub", "Sum", "Switch", "TensorArrayGatherV3", "TensorArrayReadV3", "TensorArrayScatterV3",
        "TensorArraySizeV3", "TensorArrayV3", "TensorArrayWriteV3", "Tile", "TopKV2", "Transpose", "Unpack", "Where", "ZerosLike",
    ]

    /// Ops without which the graph is not this detector (any one spelling of each).
    static let requiredOps: [[String]] = [
        ["CropAndResize"], ["SpaceToBatchND"], ["BatchToSpaceND"], ["Conv2D"], ["MatMul"], ["Softmax"], ["ResizeBilinear"],
        ["FusedBatchNorm", "FusedBatchNormV3"], ["NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5"],
    ]

    public static func inspect(_ graph: TFGraphDef) throws -> Summary {
        let opCounts = graph.opCounts
        let unknown = opCounts.keys.filter { !knownOps.contains($0) }.sorted()
        guard unknown.isEmpty else { throw ModelFormatError.unsupportedTensorFlowOps(unknown) }
        let nodes = try graph.nodesByName()
        for (name, op) in landmarks {
            guard let node = nodes[name] else { throw ModelFormatError.unexpectedGraph("node \(name) is missing") }
            guard node.op == op else { throw ModelFormatError.unexpectedGraph("node \(name) is \(node.op), expected \(op)") }
        }
        for spellings in requiredOps where !spellings.contains(where: { opCounts[$0] != nil }) {
            throw ModelFormatError.unexpectedGraph("no \(spellings.joined(separator: "/")) op")
        }
        guard nodes["image_tensor"]?.dataType == .uint8 else { throw ModelFormatError.unexpectedGraph("image_tensor is not a uint8 input") }

        func weightShape(_ name: String) throws -> [Int] {
            guard case let .tensor(tensor) = nodes[name]?.attributes["value"], tensor.dataType == .float, let shape = tensor.shape else {
                throw ModelFormatError.unexpectedGraph("\(name) is not a float constant")
            }
            return shape
        }
        // The heads read the pooled output of Conv2d_7b_1x1 (1536 channels in MegaDetector's graphs).
        let features = try weightShape("SecondStageFeatureExtractor/InceptionResnetV2/Conv2d_7b_1x1/weights")
        guard features.count == 4 else { throw ModelFormatError.unexpectedGraph("Conv2d_7b_1x1 weights have shape \(features)") }
        let depth = features[3]
        let classes = try weightShape("SecondStageBoxPredictor/ClassPredictor/weights")
        let boxes = try weightShape("SecondStageBoxPredictor/BoxEncodingPredictor/weights")
        guard classes.count == 2, classes[1] >= 2, classes[0] == depth else {
            throw ModelFormatError.unexpectedGraph("second-stage class weights have shape \(classes), expected [\(depth), classes + 1]")
        }
        let classCount = classes[1] - 1
        guard boxes == [depth, 4 * classCount] else {
            throw ModelFormatError.unexpectedGraph("second-stage box weights have shape \(boxes), expected [\(depth), \(4 * classCount)] for \(classCount) classes")
        }
        let objectness = try weightShape("FirstStageBoxPredictor/ClassPredictor/weights")
        let proposals = try weightShape("FirstStageBoxPredictor/BoxEncodingPredictor/weights")
        guard objectness.count == 4, proposals.count == 4, objectness[3] % 2 == 0, proposals[3] == 2 * objectness[3] else {
            throw ModelFormatError.unexpectedGraph("first-stage predictor weights have shapes \(objectness) and \(proposals)")
        }
        var weightBytes = 0, weightCount = 0
        for node in graph.nodes where node.op == "Const" {
            guard case let .tensor(tensor) = node.attributes["value"], tensor.dataType == .float else { continue }
            weightCount += tensor.elementCount
            weightBytes += tensor.contentRange?.count ?? tensor.inlineFloats.count * 4
        }
        return Summary(nodeCount: graph.nodes.count, producer: graph.producer, opCounts: opCounts, classCount: classCount,
                       anchorsPerCell: objectness[3] / 2, weightBytes: weightBytes, weightCount: weightCount)
    }
}
