/// The numbers a MegaDetector v2-v4 graph computes with, read from its constants rather than assumed:
/// the resizer's range, the crop size, the anchor grid, the two NMS overlap thresholds. Constants the
/// native pipeline does not parameterise (input scaling, box-coder scale factors, logit scale, NMS score
/// thresholds, soft-NMS) are checked against the values it implements; a file that differs is refused
/// naming the node and both values, rather than computed silently wrong.
public struct FasterRCNNHyperparameters: Sendable, Equatable {
    /// Keep-aspect-ratio resizer: short side to `minDimension` unless the long side then exceeds `maxDimension`.
    public var minDimension: Int
    public var maxDimension: Int
    public var cropSize: Int
    public var anchorScales: [Float]
    public var anchorAspectRatios: [Float]
    public var anchorBaseSize: Int
    public var anchorStride: Int
    public var firstStageIoUThreshold: Float
    public var secondStageIoUThreshold: Float

    public init(minDimension: Int, maxDimension: Int, cropSize: Int, anchorScales: [Float], anchorAspectRatios: [Float],
                anchorBaseSize: Int, anchorStride: Int, firstStageIoUThreshold: Float, secondStageIoUThreshold: Float) {
        self.minDimension = minDimension
        self.maxDimension = maxDimension
        self.cropSize = cropSize
        self.anchorScales = anchorScales
        self.anchorAspectRatios = anchorAspectRatios
        self.anchorBaseSize = anchorBaseSize
        self.anchorStride = anchorStride
        self.firstStageIoUThreshold = firstStageIoUThreshold
        self.secondStageIoUThreshold = secondStageIoUThreshold
    }

    /// Constants the pipeline implements as fixed arithmetic, with the values it uses.
    static let fixedConstants: [(name: String, value: Float)] = [
        ("Preprocessor/mul/x", 2.0 / 255.0), ("Preprocessor/sub/y", 1.0),
        ("Decode/truediv/y", 10), ("Decode/truediv_1/y", 10), ("Decode/truediv_2/y", 5), ("Decode/truediv_3/y", 5),
        ("SecondStagePostprocessor/Decode/truediv/y", 10), ("SecondStagePostprocessor/Decode/truediv_1/y", 10),
        ("SecondStagePostprocessor/Decode/truediv_2/y", 5), ("SecondStagePostprocessor/Decode/truediv_3/y", 5),
        ("SecondStagePostprocessor/scale_logits/y", 1.0),
        ("GridAnchorGenerator/Const_2", 0),  // anchor offset (y and x)
    ]

    static let resizerScope = "Preprocessor/map/while/ResizeToRange/"
    static let nmsOps: Set<String> = ["NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5"]

    public static func read(_ graph: TFGraphDef) throws -> FasterRCNNHyperparameters {
        let reader = ConstantReader(nodes: try graph.nodesByName(), file: graph.file)
        for (name, expected) in fixedConstants {
            for value in try reader.values(name) where value != Float(expected) {
                throw ModelFormatError.unexpectedGraph("\(name) is \(value), the MegaDetector pipeline uses \(expected)")
            }
        }
        try checkSampling(reader.nodes)
        let (minDimension, maxDimension) = try resizerRange(reader)
        let crop = try reader.values("CropAndResize/CropAndResize/crop_size").map { Int($0) }
        guard crop.count == 2, crop[0] == crop[1], crop[0] > 1 else { throw ModelFormatError.unexpectedGraph("the crop size is \(crop)") }
        let base = try reader.values("GridAnchorGenerator/Const").map { Int($0) }
        let stride = try reader.values("GridAnchorGenerator/Const_1").map { Int($0) }
        guard base.count == 2, base[0] == base[1], base[0] > 0, stride.count == 2, stride[0] == stride[1], stride[0] > 0 else {
            throw ModelFormatError.unexpectedGraph("anchor base size \(base) and stride \(stride) are not square")
        }
        let scales = try reader.values("GridAnchorGenerator/Meshgrid/Const")
        let ratios = try reader.values("GridAnchorGenerator/Meshgrid/Const_1")
        guard !scales.isEmpty, !ratios.isEmpty, (scales + ratios).allSatisfy({ $0 > 0 }) else {
            throw ModelFormatError.unexpectedGraph("anchor scales \(scales) and aspect ratios \(ratios)")
        }
        let (first, second) = try overlapThresholds(reader)
        return FasterRCNNHyperparameters(minDimension: minDimension, maxDimension: maxDimension, cropSize: crop[0], anchorScales: scales,
                                         anchorAspectRatios: ratios, anchorBaseSize: base[0], anchorStride: stride[0],
                                         firstStageIoUThreshold: first, secondStageIoUThreshold: second)
    }

    /// The resizer samples as TF's legacy bilinear resize (no corner alignment, no half-pixel centres) and
    /// the crops bilinearly with extrapolation 0: the arithmetic the native pipeline implements.
    static func checkSampling(_ nodes: [String: TFNode]) throws {
        for node in nodes.values where node.op == "ResizeBilinear" && node.name.hasPrefix("Preprocessor/") {
            for flag in ["align_corners", "half_pixel_centers"] where node.attributes[flag] == .bool(true) {
                throw ModelFormatError.unexpectedGraph("\(node.name) resizes with \(flag); the pipeline implements TF's legacy bilinear resize")
            }
        }
        let crop = "CropAndResize/CropAndResize"
        if case let .string(method) = nodes[crop]?.attributes["method"], method != "bilinear" {
            throw ModelFormatError.unexpectedGraph("\(crop) samples with \(method), the pipeline implements bilinear")
        }
        if case let .float(value) = nodes[crop]?.attributes["extrapolation_value"], value != 0 {
            throw ModelFormatError.unexpectedGraph("\(crop) extrapolates with \(value), the pipeline uses 0")
        }
    }

    /// The resizer's (min, max) of a graph (a whole export, or any graph with the exporter's
    /// `Preprocessor/map/while/ResizeToRange` scope).
    public static func resizerRange(in graph: TFGraphDef) throws -> (minDimension: Int, maxDimension: Int) {
        try resizerRange(ConstantReader(nodes: try graph.nodesByName(), file: graph.file))
    }

    /// The resizer's (min, max): the TF2-era exporter stacks them as one constant for its landscape
    /// branch; the TF1-era one divides each, as a float constant, by the photo's short or long side.
    static func resizerRange(_ reader: ConstantReader) throws -> (Int, Int) {
        if reader.nodes[resizerScope + "cond/stack"] != nil {
            let range = try reader.values(resizerScope + "cond/stack").map { Int($0) }
            guard range.count == 2, range[0] > 0, range[1] >= range[0] else { throw ModelFormatError.unexpectedGraph("the resizer range is \(range)") }
            return (range[0], range[1])
        }
        var dimensions: [String: Float] = [:]
        for node in reader.nodes.values where node.op == "RealDiv" && node.name.hasPrefix(resizerScope) {
            let data = node.inputs.filter { !$0.hasPrefix("^") }
            guard data.count == 2, let side = reader.nodes[ConstantReader.nodeName(data[1])]?.op, side == "Minimum" || side == "Maximum",
                  let value = try? reader.values(data[0]), value.count == 1 else { continue }
            dimensions[side] = value[0]
        }
        guard let low = dimensions["Minimum"], let high = dimensions["Maximum"], low >= 1, high >= low, low == low.rounded(), high == high.rounded() else {
            throw ModelFormatError.unexpectedGraph("no keep-aspect-ratio resizer range under \(resizerScope) (found \(dimensions))")
        }
        return (Int(low), Int(high))
    }

    /// NMS overlap thresholds of the first stage (proposals) and the second (per class), each the same
    /// for every NMS op of its stage; score thresholds must be 0 and soft-NMS off, as the pipeline assumes.
    static func overlapThresholds(_ reader: ConstantReader) throws -> (Float, Float) {
        var thresholds: (first: Set<Float>, second: Set<Float>) = ([], [])
        for node in reader.nodes.values.sorted(by: { $0.name < $1.name }) where nmsOps.contains(node.op) {
            let data = node.inputs.filter { !$0.hasPrefix("^") }
            guard data.count >= 4 else { throw ModelFormatError.unexpectedGraph("\(node.name) has \(data.count) inputs") }
            let iou = try reader.values(data[3])
            guard iou.count == 1, iou[0] >= 0, iou[0] <= 1 else { throw ModelFormatError.unexpectedGraph("\(node.name): IoU threshold \(iou)") }
            // V3 and later: score_threshold (input 4); V5: soft_nms_sigma (input 5).
            for (index, meaning) in [(4, "score threshold"), (5, "soft-NMS sigma")] where data.count > index {
                let value = try reader.values(data[index])
                guard value == [0] else { throw ModelFormatError.unexpectedGraph("\(node.name): \(meaning) \(value), the pipeline uses 0") }
            }
            if node.name.hasPrefix("SecondStagePostprocessor/") { thresholds.second.insert(iou[0]) } else { thresholds.first.insert(iou[0]) }
        }
        guard thresholds.first.count == 1, thresholds.second.count == 1, let first = thresholds.first.first, let second = thresholds.second.first else {
            throw ModelFormatError.unexpectedGraph("NMS IoU thresholds: first stage \(thresholds.first.sorted()), second stage \(thresholds.second.sorted())")
        }
        return (first, second)
    }
}
