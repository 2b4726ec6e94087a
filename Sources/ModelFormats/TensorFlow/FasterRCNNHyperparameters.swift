/// The numbers a MegaDetector v2-v4 graph computes with, read from its constants rather than assumed:
/// the resizer's range, the crop size, the anchor grid, the NMS overlap thresholds and output limits.
/// Constants the native pipeline does not parameterise (input scaling, box-coder scale factors, logit
/// scale, NMS score thresholds, soft-NMS, sampling flags) are checked against the values it implements; a
/// file that differs is refused naming the node and both values, rather than computed silently wrong.
///
/// Names that moved between Object Detection API versions are not required: the crops and NMS ops are
/// found by op type, and the anchor generator's constants (inside `GridAnchorGenerator/` since 2019,
/// created at the graph's root before) fall back to MegaDetector's training config, which the RPN weight
/// shapes then confirm (12 anchors per cell); `anchorsReadFromFile` says which.
public struct FasterRCNNHyperparameters: Sendable, Equatable {
    /// Keep-aspect-ratio resizer: short side to `minDimension` unless the long side then exceeds `maxDimension`.
    public var minDimension: Int
    public var maxDimension: Int
    public var cropSize: Int
    public var anchorScales: [Float]
    public var anchorAspectRatios: [Float]
    public var anchorBaseSize: Int
    public var anchorStride: Int
    public var anchorsReadFromFile: Bool
    public var firstStageIoUThreshold: Float
    public var secondStageIoUThreshold: Float
    /// Proposals kept by the first stage's NMS (the second stage's batch).
    public var maxProposals: Int
    /// Detections kept per class by the second stage's NMS.
    public var maxDetectionsPerClass: Int

    public init(minDimension: Int, maxDimension: Int, cropSize: Int, anchorScales: [Float], anchorAspectRatios: [Float],
                anchorBaseSize: Int, anchorStride: Int, anchorsReadFromFile: Bool, firstStageIoUThreshold: Float,
                secondStageIoUThreshold: Float, maxProposals: Int, maxDetectionsPerClass: Int) {
        self.minDimension = minDimension
        self.maxDimension = maxDimension
        self.cropSize = cropSize
        self.anchorScales = anchorScales
        self.anchorAspectRatios = anchorAspectRatios
        self.anchorBaseSize = anchorBaseSize
        self.anchorStride = anchorStride
        self.anchorsReadFromFile = anchorsReadFromFile
        self.firstStageIoUThreshold = firstStageIoUThreshold
        self.secondStageIoUThreshold = secondStageIoUThreshold
        self.maxProposals = maxProposals
        self.maxDetectionsPerClass = maxDetectionsPerClass
    }

    /// Constants the pipeline implements as fixed arithmetic, with the values it uses; the optional ones
    /// are checked where the file has them.
    static let fixedConstants: [(name: String, value: Float, required: Bool)] = [
        ("Preprocessor/mul/x", 2.0 / 255.0, true), ("Preprocessor/sub/y", 1.0, true),
        ("Decode/truediv/y", 10, true), ("Decode/truediv_1/y", 10, true), ("Decode/truediv_2/y", 5, true), ("Decode/truediv_3/y", 5, true),
        ("SecondStagePostprocessor/Decode/truediv/y", 10, true), ("SecondStagePostprocessor/Decode/truediv_1/y", 10, true),
        ("SecondStagePostprocessor/Decode/truediv_2/y", 5, true), ("SecondStagePostprocessor/Decode/truediv_3/y", 5, true),
        ("SecondStagePostprocessor/scale_logits/y", 1.0, false),  // logit scale, in the exporter since 2018
        ("GridAnchorGenerator/Const_2", 0, false),  // anchor offset (y and x)
    ]

    /// MegaDetector v2-v4's training config (identical model blocks), for anchor constants a file keeps
    /// under other names.
    static let megadetectorAnchors = (scales: [Float]([0.25, 0.5, 1, 2]), aspectRatios: [Float]([0.5, 1, 2]), baseSize: 256, stride: 8)

    static let resizerScope = "Preprocessor/map/while/ResizeToRange/"
    /// Bounds on numbers that size allocations (the file is input): NMS output counts, the crop size
    /// and the resizer's long side.
    static let maxLimit = 2000, maxCropSize = 64, maxResizedSide = 8192
    static let nmsOps: Set<String> = ["NonMaxSuppressionV2", "NonMaxSuppressionV3", "NonMaxSuppressionV4", "NonMaxSuppressionV5"]

    public static func read(_ graph: TFGraphDef) throws -> FasterRCNNHyperparameters {
        let reader = ConstantReader(nodes: try graph.nodesByName(), file: graph.file)
        for (name, expected, required) in fixedConstants where required || reader.nodes[name] != nil {
            for value in try reader.values(name) where value != Float(expected) {
                throw ModelFormatError.unexpectedGraph("\(name) is \(value), the MegaDetector pipeline uses \(expected)")
            }
        }
        try checkSampling(reader.nodes)
        let (minDimension, maxDimension) = try resizerRange(reader)
        let crop = try cropSize(reader)
        let names = ["GridAnchorGenerator/Meshgrid/Const", "GridAnchorGenerator/Meshgrid/Const_1", "GridAnchorGenerator/Const",
                     "GridAnchorGenerator/Const_1"]
        let fromFile = names.allSatisfy { reader.nodes[$0] != nil }
        let defaults = megadetectorAnchors
        let scales = fromFile ? try reader.values(names[0]) : defaults.scales
        let ratios = fromFile ? try reader.values(names[1]) : defaults.aspectRatios
        let base = fromFile ? try reader.values(names[2]).map { Int($0) } : [defaults.baseSize, defaults.baseSize]
        let stride = fromFile ? try reader.values(names[3]).map { Int($0) } : [defaults.stride, defaults.stride]
        guard base.count == 2, base[0] == base[1], base[0] > 0, stride.count == 2, stride[0] == stride[1], stride[0] > 0 else {
            throw ModelFormatError.unexpectedGraph("anchor base size \(base) and stride \(stride) are not square")
        }
        guard !scales.isEmpty, !ratios.isEmpty, (scales + ratios).allSatisfy({ $0 > 0 }) else {
            throw ModelFormatError.unexpectedGraph("anchor scales \(scales) and aspect ratios \(ratios)")
        }
        let stages = try suppression(reader)
        return FasterRCNNHyperparameters(minDimension: minDimension, maxDimension: maxDimension, cropSize: crop, anchorScales: scales,
                                         anchorAspectRatios: ratios, anchorBaseSize: base[0], anchorStride: stride[0],
                                         anchorsReadFromFile: fromFile, firstStageIoUThreshold: stages.first.iou,
                                         secondStageIoUThreshold: stages.second.iou, maxProposals: stages.first.limit,
                                         maxDetectionsPerClass: stages.second.limit)
    }

    /// The square crop size: the `crop_size` input of the graph's one CropAndResize.
    static func cropSize(_ reader: ConstantReader) throws -> Int {
        let crops = reader.nodes.values.filter { $0.op == "CropAndResize" }
        guard crops.count == 1, let node = crops.first else { throw ModelFormatError.unexpectedGraph("\(crops.count) CropAndResize ops, expected 1") }
        let data = node.inputs.filter { !$0.hasPrefix("^") }
        let crop = data.count == 4 ? try reader.values(data[3]).map { Int($0) } : []
        guard crop.count == 2, crop[0] == crop[1], (2...maxCropSize).contains(crop[0]) else {
            throw ModelFormatError.unexpectedGraph("\(node.name): crop size \(crop)")
        }
        return crop[0]
    }

    /// The resizer samples as TF's legacy bilinear resize (no corner alignment, no half-pixel centres) and
    /// the crops bilinearly with extrapolation 0: the arithmetic the native pipeline implements.
    static func checkSampling(_ nodes: [String: TFNode]) throws {
        for node in nodes.values where node.op == "ResizeBilinear" && node.name.hasPrefix("Preprocessor/") {
            for flag in ["align_corners", "half_pixel_centers"] where node.attributes[flag] == .bool(true) {
                throw ModelFormatError.unexpectedGraph("\(node.name) resizes with \(flag); the pipeline implements TF's legacy bilinear resize")
            }
        }
        for crop in nodes.values where crop.op == "CropAndResize" {
            if case let .string(method) = crop.attributes["method"], method != "bilinear" {
                throw ModelFormatError.unexpectedGraph("\(crop.name) samples with \(method), the pipeline implements bilinear")
            }
            if case let .float(value) = crop.attributes["extrapolation_value"], value != 0 {
                throw ModelFormatError.unexpectedGraph("\(crop.name) extrapolates with \(value), the pipeline uses 0")
            }
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
            guard range.count == 2, range[0] > 0, range[1] >= range[0], range[1] <= maxResizedSide else {
                throw ModelFormatError.unexpectedGraph("the resizer range is \(range)")
            }
            return (range[0], range[1])
        }
        var dimensions: [String: Float] = [:]
        for node in reader.nodes.values where node.op == "RealDiv" && node.name.hasPrefix(resizerScope) {
            let data = node.inputs.filter { !$0.hasPrefix("^") }
            guard data.count == 2, let side = reader.nodes[ConstantReader.nodeName(data[1])]?.op, side == "Minimum" || side == "Maximum",
                  let value = try? reader.values(data[0]), value.count == 1 else { continue }
            dimensions[side] = value[0]
        }
        guard let low = dimensions["Minimum"], let high = dimensions["Maximum"], low >= 1, high >= low, high <= Float(maxResizedSide),
              low == low.rounded(), high == high.rounded() else {
            throw ModelFormatError.unexpectedGraph("no keep-aspect-ratio resizer range under \(resizerScope) (found \(dimensions))")
        }
        return (Int(low), Int(high))
    }

    /// Each stage's NMS overlap threshold and output limit (the same for every NMS op of the stage: one
    /// for the proposals, one per class in the second stage). Score thresholds must be 0 and soft-NMS
    /// off, as the pipeline assumes. A limit written as `min(constant, count)` is read from the constant;
    /// where it is not a constant, MegaDetector's 300 proposals and 100 detections per class are used.
    static func suppression(_ reader: ConstantReader) throws -> (first: (iou: Float, limit: Int), second: (iou: Float, limit: Int)) {
        var thresholds: (first: Set<Float>, second: Set<Float>) = ([], [])
        var limits: (first: Set<Int>, second: Set<Int>) = ([], [])
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
            let limit = try outputLimit(reader, data[2])
            if node.name.hasPrefix("SecondStagePostprocessor/") {
                thresholds.second.insert(iou[0])
                if let limit { limits.second.insert(limit) }
            } else {
                thresholds.first.insert(iou[0])
                if let limit { limits.first.insert(limit) }
            }
        }
        guard thresholds.first.count == 1, thresholds.second.count == 1, let first = thresholds.first.first, let second = thresholds.second.first else {
            throw ModelFormatError.unexpectedGraph("NMS IoU thresholds: first stage \(thresholds.first.sorted()), second stage \(thresholds.second.sorted())")
        }
        // Bounded: the proposal count sizes the second stage's batch (300 x 17 x 17 x 1088 floats for MDv4).
        guard limits.first.count <= 1, limits.second.count <= 1, (1...maxLimit).contains(limits.first.first ?? 300),
              (1...maxLimit).contains(limits.second.first ?? 100) else {
            throw ModelFormatError.unexpectedGraph("NMS output limits: first stage \(limits.first.sorted()), second stage \(limits.second.sorted())")
        }
        return ((first, limits.first.first ?? 300), (second, limits.second.first ?? 100))
    }

    /// An NMS `max_output_size`: a constant, or `Minimum` of a constant and a box count.
    static func outputLimit(_ reader: ConstantReader, _ reference: String) throws -> Int? {
        guard let node = reader.nodes[ConstantReader.nodeName(reference)] else { return nil }
        if node.op == "Const" { return try reader.values(node.name).first.map { Int($0) } }
        guard node.op == "Minimum" else { return nil }
        for input in node.inputs where !input.hasPrefix("^") {
            if reader.nodes[ConstantReader.nodeName(input)]?.op == "Const" { return try reader.values(input).first.map { Int($0) } }
        }
        return nil
    }
}
