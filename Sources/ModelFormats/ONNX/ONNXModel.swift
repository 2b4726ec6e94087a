import Engine
import Foundation

/// Converts an ONNX model (YOLOv5 exports, YOLOX and similar detectors) into an engine graph.
/// Shape-plumbing subgraphs (Shape -> Gather/Slice -> Concat -> Reshape) are folded to constants at
/// load, because they depend only on the input's shape; the remaining ops map one to one onto the
/// engine's, and Conv + Sigmoid + Mul (SiLU) and residual Adds are fused afterwards. An export with a
/// dynamic height and width (`export.py --dynamic`) is converted for one concrete size at a time:
/// `LoadedModel.rebind` makes the network for another photo's letterboxed size.
public enum ONNXModel {
    /// The size a dynamic export is converted for when no photo has fixed it yet: a 4:3 photo
    /// letterboxed to 1280 (what MegaDetector models see most).
    public static let planningSize = (height: 960, width: 1280)

    public static func load(path: String, backend: ExecutionBackend, inputShape: [Int]? = nil) throws -> LoadedModel {
        let start = Date()
        let file = try MappedFile(path: path)
        let proto = try ONNXModelProto(file.bytes)
        var converter = ONNXGraphConverter(opset: proto.opsets[""] ?? 1)
        let declared = proto.graph.inputs.first { input in !proto.graph.initializers.contains { $0.name == input.name } }?.shape ?? []
        let dynamic = declared.contains { $0 <= 0 }
        var bound = inputShape
        if dynamic, bound == nil, declared.count == 4 {
            // Only the dynamic dimensions: a batch of 1, and (NCHW detectors) the planning height and
            // width. A classifier exported with only its batch dynamic ([-1, 480, 480, 3]) keeps its size.
            bound = declared.enumerated().map { index, size in
                size > 0 ? size : index == 0 ? 1 : index == 2 ? planningSize.height : index == 3 ? planningSize.width : size
            }
        }
        // End-to-end exports (YOLOv10/YOLO26 with `end2end`): the graph ends in a top-k over the decoded
        // head ([1, 300, 6]). We run the network up to the decoded head and do the top-k ourselves.
        var graphProto = proto.graph
        let endToEnd = Self.cutBeforeTopK(&graphProto)
        let graph = try GraphFusion.fuse(try converter.convert(graphProto, inputShape: bound))
        guard let input = graph.inputs.first else { throw ModelFormatError.malformedONNX("the graph has no input") }
        file.releaseResidentPages()
        let network = try Network(graph: graph, backend: backend, planningInputShapes: [input.name: input.shape])
        let outputShape = try graph.inferShapes(inputShapes: [input.name: input.shape])[graph.outputs[0]] ?? []
        let constantParameters = graph.constants.values.reduce(0) { $0 + $1.count }
        let info = ModelInfo(
            path: path, format: "ONNX (IR \(proto.ir_version), opset \(proto.opsets[""] ?? 0)\(proto.producer.isEmpty ? "" : ", from \(proto.producer)"))",
            architecture: "\(graph.nodes.count) nodes after fusion; output \(graph.outputs[0]) \(outputShape)",
            parameterCount: network.parameterCount + constantParameters, classNames: [], strides: [], anchorsInPixels: [],
            defaultInputSize: input.shape.count == 4 ? max(input.shape[2], input.shape[3]) : 0,
            storagePrecision: "float32", layerCount: graph.nodes.count, outputKind: .raw, inputName: input.name,
            outputName: graph.outputs[0], inputShape: dynamic ? declared : input.shape, loadSeconds: Date().timeIntervalSince(start))
        var loaded = LoadedModel(network: network, info: info)
        // An anchor-free head ([1, 4 + classes, anchors], more anchors than rows): ultralytics exports
        // (and yolov9's). Decoded and post-processed as the ultralytics route of the reference does it.
        if endToEnd, !(outputShape.count == 3 && outputShape[1] >= 5 && outputShape[1] < outputShape[2]) {
            throw ModelFormatError.malformedONNX("an end-to-end export (TopK) whose decoded head [1, 4 + classes, anchors] was not found (found \(outputShape))")
        }
        if outputShape.count == 3, outputShape[1] >= 5, outputShape[1] < outputShape[2] {
            loaded.info.outputKind = endToEnd ? .endToEnd : .anchorFree
            loaded.info.modelType = .ultralytics
            let classCount = outputShape[1] - 4
            loaded.info.classNames = Self.ultralyticsNames(proto.metadata["names"], count: classCount)
            // ultralytics records the export size ("[640, 640]"): the model's own size for dynamic exports.
            if dynamic, let size = proto.metadata["imgsz"]?.split(whereSeparator: { !$0.isNumber }).compactMap({ Int($0) }).max(),
               (32...8192).contains(size) {
                loaded.info.defaultInputSize = size
                loaded.info.metadataImageSize = size
            }
            if let author = proto.metadata["author"] { loaded.info.architecture += "; anchor-free head, exported by \(author)" }
        }
        if dynamic {
            loaded.info.architecture += "; dynamic input \(declared) (converted per letterboxed photo size)"
            loaded.rebind = { shape in try ONNXModel.load(path: path, backend: backend, inputShape: shape).network }
        }
        return loaded
    }
}

extension ONNXModel {
    /// For a graph with a TopK (ultralytics' end-to-end postprocess: `y.permute(0, 2, 1)`, split into
    /// boxes and scores, top-k by best score, gather), makes the decoded head its output instead: the
    /// input of the last [0, 2, 1] Transpose before the first TopK. Returns whether it cut.
    static func cutBeforeTopK(_ graph: inout ONNXGraphProto) -> Bool {
        guard let topK = graph.nodes.firstIndex(where: { $0.opType == "TopK" }),
              let transpose = graph.nodes[..<topK].lastIndex(where: { $0.opType == "Transpose" && $0.attributes["perm"]?.ints == [0, 2, 1] }),
              let decoded = graph.nodes[transpose].inputs.first else {
            return false
        }
        graph.nodes = Array(graph.nodes[..<transpose])
        graph.outputs = [decoded]
        return true
    }

    /// ultralytics' `names` metadata, a Python dict literal: {0: 'animal', 1: 'person', 2: 'vehicle'}.
    static func ultralyticsNames(_ text: String?, count: Int) -> [String] {
        var names = (0..<count).map { "class \($0)" }
        guard let text else { return names }
        for entry in text.trimmingCharacters(in: CharacterSet(charactersIn: "{}")).split(separator: ",") {
            let parts = entry.split(separator: ":", maxSplits: 1)
            guard parts.count == 2, let index = Int(parts[0].trimmingCharacters(in: .whitespaces)), (0..<count).contains(index) else { continue }
            names[index] = parts[1].trimmingCharacters(in: CharacterSet(charactersIn: " '\""))
        }
        return names
    }
}

private extension ONNXModelProto {
    var ir_version: Int { irVersion }
}

/// Walks ONNX nodes in order, keeping static shapes and constants to fold what depends only on them.
struct ONNXGraphConverter {
    let opset: Int
    private var constants: [String: ONNXTensorProto] = [:]
    private var shapes: [String: [Int]] = [:]
    private var nodes: [Graph.Node] = []
    private var graphConstants: [String: Tensor] = [:]
    /// Zero Pads of height and width (tf2onnx writes one before each stride-2 "same" convolution),
    /// folded into the convolution that reads them: value -> (unpadded source, [top, left, bottom, right]).
    private var padded: [String: (source: String, pads: [Int])] = [:]

    init(opset: Int) {
        self.opset = opset
    }

    /// `inputShape` binds the dimensions an export left dynamic (and must agree with the fixed ones).
    mutating func convert(_ graph: ONNXGraphProto, inputShape: [Int]? = nil) throws -> Graph {
        for initializer in graph.initializers { constants[initializer.name] = initializer }
        let inputs = graph.inputs.filter { constants[$0.name] == nil }
        guard inputs.count == 1 else {
            throw ModelFormatError.malformedONNX("expected one image input, found \(inputs.map(\.name))")
        }
        let input = inputs[0]
        var shape = input.shape
        if let inputShape {
            guard inputShape.count == shape.count, inputShape.allSatisfy({ $0 > 0 }),
                  zip(shape, inputShape).allSatisfy({ $0 <= 0 || $0 == $1 }) else {
                throw ModelFormatError.malformedONNX("input \(input.name) \(input.shape) cannot take the shape \(inputShape)")
            }
            shape = inputShape
        }
        guard shape.allSatisfy({ $0 > 0 }) else {
            throw ModelFormatError.malformedONNX("input \(input.name) has dynamic shape \(input.shape) and no size was given for it")
        }
        shapes[input.name] = shape
        for node in graph.nodes { try convert(node) }
        for output in graph.outputs where shapes[output] == nil {
            throw ModelFormatError.malformedONNX("graph output \(output) is never computed")
        }
        return try Graph(inputs: [Graph.Input(name: input.name, shape: shape)], outputs: graph.outputs,
                         nodes: nodes, constants: graphConstants)
    }

    private mutating func convert(_ node: ONNXNodeProto) throws {
        let name = node.name.isEmpty ? (node.outputs.first ?? "?") : node.name
        func unsupported() -> ModelFormatError { .unsupportedOperator(name: node.opType, opset: opset, node: name) }
        guard node.domain.isEmpty || node.domain == "ai.onnx" else { throw unsupported() }
        let a = node.attributes
        let present = node.inputs.filter { !$0.isEmpty }
        let allConstant = present.allSatisfy { constants[$0] != nil }

        // Constants and shape plumbing: folded, never executed.
        switch node.opType {
        case "Constant":
            guard let tensor = a["value"]?.tensor ?? a["value_float"]?.float.map({ ONNXTensorProto(name: "", dims: [], values: [Double($0)]) })
                    ?? a["value_int"]?.int.map({ ONNXTensorProto(name: "", dims: [], values: [Double($0)]) }) else { throw unsupported() }
            return define(node.outputs[0], tensor)
        case "Shape":
            let shape = try shapeOf(node.inputs[0], node: name)
            return define(node.outputs[0], ONNXTensorProto(name: "", dims: [shape.count], values: shape.map(Double.init)))
        case "Identity" where allConstant, "Cast" where allConstant:
            return define(node.outputs[0], try constant(node.inputs[0], node: name))
        case "Gather" where allConstant:
            let data = try constant(node.inputs[0], node: name), indices = try constant(node.inputs[1], node: name)
            guard data.dims.count == 1, (a["axis"]?.int ?? 0) == 0 else { throw unsupported() }
            let picked = try indices.ints.map { index -> Double in
                let resolved = index < 0 ? index + data.values.count : index
                guard resolved >= 0, resolved < data.values.count else { throw ModelFormatError.malformedONNX("Gather \(name): index \(index) out of range") }
                return data.values[resolved]
            }
            return define(node.outputs[0], ONNXTensorProto(name: "", dims: indices.dims, values: picked))
        case "Pad" where constants[node.inputs[0]] == nil:
            return try foldablePad(node, name: name)
        case "Unsqueeze" where allConstant, "Squeeze" where allConstant:
            let data = try constant(node.inputs[0], node: name)
            let target = try reshapeTarget(node, input: data.dims, name: name)
            return define(node.outputs[0], ONNXTensorProto(name: "", dims: target, values: data.values))
        default:
            if allConstant, let folded = try ONNXConstantFolding.fold(node, constants: try present.map { try constant($0, node: name) }) {
                return define(node.outputs[0], folded)
            }
        }
        let (operation, inputs) = try makeOperation(node, name: name)
        if let pad = inputs.first(where: { padded[$0] != nil }) {
            throw ModelFormatError.unsupportedOperator(name: "Pad feeding \(node.opType) (only a convolution can take a Pad)", opset: opset, node: pad)
        }
        if allConstant, !present.isEmpty {
            // Everything it reads is known at load time: evaluate once with the reference implementation.
            let results = operation.reference(try inputs.map { try constant($0, node: name).floatTensor })
            for (output, tensor) in zip(node.outputs, results) {
                define(output, ONNXTensorProto(name: "", dims: tensor.shape, values: tensor.values.map(Double.init)))
            }
            return
        }
        for input in inputs {
            if let constant = constants[input], graphConstants[input] == nil { graphConstants[input] = constant.floatTensor }
        }
        let inputShapes = try inputs.map { try shapeOf($0, node: name) }
        let outputShapes = try operation.outputShapes(for: inputShapes, node: name)
        for (output, shape) in zip(node.outputs, outputShapes) { shapes[output] = shape }
        nodes.append(Graph.Node(name: name, operation: operation, inputs: inputs, outputs: node.outputs))
    }

    /// The engine op for an ONNX node and the value names it reads at run time.
    private func makeOperation(_ node: ONNXNodeProto, name: String) throws -> (any GraphOperation, [String]) {
        let a = node.attributes
        let present = node.inputs.filter { !$0.isEmpty }
        func unsupported() -> ModelFormatError { .unsupportedOperator(name: node.opType, opset: opset, node: name) }
        let operation: any GraphOperation
        var inputs = [node.inputs[0]]
        switch node.opType {
        case "Conv":
            operation = try conv(node, name: name)
            inputs = [padded[node.inputs[0]]?.source ?? node.inputs[0]]
        case "GlobalAveragePool":
            guard try shapeOf(node.inputs[0], node: name).count == 4 else { throw unsupported() }
            operation = GlobalAveragePool()
        case "Sigmoid": operation = Unary(.activation(.sigmoid))
        case "Relu": operation = Unary(.activation(.relu))
        case "LeakyRelu": operation = Unary(.activation(.leakyRelu(alpha: a["alpha"]?.float ?? 0.01)))
        case "HardSwish": operation = Unary(.activation(.hardswish))
        case "Exp": operation = Unary(.exp)
        case "Identity", "Cast": operation = Unary(.activation(.none))
        case "Add", "Sub", "Mul", "Div", "Pow":
            operation = Elementwise(Elementwise.Function(rawValue: node.opType)!)
            inputs = node.inputs
        case "Concat":
            let rank = try shapeOf(node.inputs[0], node: name).count
            let axis = a["axis"]?.int ?? 0
            operation = Concat(axis: axis < 0 ? axis + rank : axis)
            inputs = node.inputs
        case "MaxPool":
            guard (a["ceil_mode"]?.int ?? 0) == 0, (a["auto_pad"]?.string ?? "NOTSET") == "NOTSET",
                  (a["dilations"]?.ints ?? [1, 1]).allSatisfy({ $0 == 1 }), let kernel = a["kernel_shape"]?.ints, kernel.count == 2 else {
                throw unsupported()
            }
            let strides = a["strides"]?.ints ?? [1, 1], pads = a["pads"]?.ints ?? [0, 0, 0, 0]
            operation = MaxPool(kernel: (kernel[0], kernel[1]), strides: (strides[0], strides[1]), pads: [pads[0], pads[1], pads[2], pads[3]])
        case "Resize", "Upsample":
            operation = try resize(node, name: name)
        case "Reshape":
            guard present.count == 2 else { throw unsupported() }
            operation = Reshape(target: try constant(node.inputs[1], node: name).ints)
        case "Flatten", "Squeeze", "Unsqueeze":
            operation = Reshape(target: try reshapeTarget(node, input: try shapeOf(node.inputs[0], node: name), name: name))
        case "Expand":
            operation = Expand(target: try constant(node.inputs[1], node: name).ints)
        case "Transpose":
            let rank = try shapeOf(node.inputs[0], node: name).count
            operation = Transpose(permutation: a["perm"]?.ints ?? Array((0..<rank).reversed()))
        case "Slice":
            operation = try slice(node, name: name)
        case "Softmax":
            // Opset 13: one axis (default -1). Before 13 the input was flattened from `axis` (default 1)
            // on; that equals a one-axis softmax only when `axis` is the last one.
            let rank = try shapeOf(node.inputs[0], node: name).count
            var axis = a["axis"]?.int ?? (opset >= 13 ? -1 : 1)
            if axis < 0 { axis += rank }
            guard axis >= 0, axis < rank, opset >= 13 || axis == rank - 1 else { throw unsupported() }
            operation = Softmax(axis: axis)
        case "MatMul":
            operation = MatMul()
            inputs = node.inputs
        case "Split":
            let shape = try shapeOf(node.inputs[0], node: name)
            var axis = a["axis"]?.int ?? 0
            if axis < 0 { axis += shape.count }
            var sizes = a["split"]?.ints ?? []
            if present.count > 1 { sizes = try constant(node.inputs[1], node: name).ints }
            if sizes.isEmpty { sizes = Array(repeating: shape[axis] / node.outputs.count, count: node.outputs.count) }
            operation = Split(axis: axis, sizes: sizes)
        default:
            throw unsupported()
        }
        return (operation, inputs)
    }

    // MARK: - Op builders

    private func conv(_ node: ONNXNodeProto, name: String) throws -> Conv {
        let a = node.attributes
        guard (a["auto_pad"]?.string ?? "NOTSET") == "NOTSET" else {
            throw ModelFormatError.unsupportedOperator(name: "Conv(auto_pad=\(a["auto_pad"]!.string!))", opset: opset, node: name)
        }
        let weights = try constant(node.inputs[1], node: name)
        guard weights.dims.count == 4 else {
            throw ModelFormatError.unsupportedOperator(name: "Conv with \(weights.dims.count - 2)-D kernels", opset: opset, node: name)
        }
        let bias = node.inputs.count > 2 && !node.inputs[2].isEmpty ? try constant(node.inputs[2], node: name).floatTensor.values : nil
        let strides = a["strides"]?.ints ?? [1, 1], dilations = a["dilations"]?.ints ?? [1, 1]
        var pads = a["pads"]?.ints ?? [0, 0, 0, 0]
        if let extra = padded[node.inputs[0]]?.pads, pads.count == 4 { pads = zip(pads, extra).map { $0 + $1 } }
        return Conv(weights: weights.floatTensor, bias: bias, strides: (strides[0], strides[1]), pads: pads,
                    dilations: (dilations[0], dilations[1]), groups: a["group"]?.int ?? 1)
    }

    /// A constant-zero Pad of height and width only, recorded to be folded into the convolution that
    /// reads it (the only consumer allowed; anything else is refused when it reads the value).
    private mutating func foldablePad(_ node: ONNXNodeProto, name: String) throws -> Void {
        let a = node.attributes
        func unsupported(_ detail: String) -> ModelFormatError { .unsupportedOperator(name: "Pad (\(detail))", opset: opset, node: name) }
        guard (a["mode"]?.string ?? "constant") == "constant" else { throw unsupported("mode \(a["mode"]?.string ?? "")") }
        let pads = opset >= 11 ? try constant(node.inputs[1], node: name).ints : (a["pads"]?.ints ?? [])
        if node.inputs.count > 2, !node.inputs[2].isEmpty, try constant(node.inputs[2], node: name).values.contains(where: { $0 != 0 }) {
            throw unsupported("a non-zero fill value")
        }
        guard pads.count == 8, pads[0] == 0, pads[1] == 0, pads[4] == 0, pads[5] == 0, pads.allSatisfy({ $0 >= 0 }) else {
            throw unsupported("pads \(pads): only zero padding of height and width")
        }
        let source = padded[node.inputs[0]]
        guard source == nil else { throw unsupported("a Pad of a Pad") }
        var shape = try shapeOf(node.inputs[0], node: name)
        guard shape.count == 4 else { throw unsupported("a \(shape.count)-D input") }
        shape[2] += pads[2] + pads[6]
        shape[3] += pads[3] + pads[7]
        shapes[node.outputs[0]] = shape
        padded[node.outputs[0]] = (node.inputs[0], [pads[2], pads[3], pads[6], pads[7]])
    }

    private func resize(_ node: ONNXNodeProto, name: String) throws -> Resize {
        let a = node.attributes
        let mode = a["mode"]?.string ?? "nearest"
        let transform = a["coordinate_transformation_mode"]?.string ?? "half_pixel"
        let nearestMode = a["nearest_mode"]?.string ?? "round_prefer_floor"
        let input = try shapeOf(node.inputs[0], node: name)
        var scales: [Double] = []
        // opset 10 / Upsample: (X, scales); opset 11+: (X, roi, scales[, sizes])
        let scaleIndex = (node.opType == "Upsample" || opset < 11) ? 1 : 2
        if node.inputs.count > scaleIndex, !node.inputs[scaleIndex].isEmpty {
            scales = try constant(node.inputs[scaleIndex], node: name).values
        }
        if scales.isEmpty, node.inputs.count > 3, !node.inputs[3].isEmpty {
            let sizes = try constant(node.inputs[3], node: name).ints
            scales = zip(sizes, input).map { Double($0) / Double($1) }
        }
        // With whole factors, asymmetric/floor (and half_pixel/round_prefer_floor) pick the same pixels.
        guard mode == "nearest", scales.count == 4, scales[0] == 1, scales[1] == 1,
              scales[2] >= 1, scales[3] >= 1, scales[2] == scales[2].rounded(), scales[3] == scales[3].rounded(),
              transform == "asymmetric" ? nearestMode == "floor" : true else {
            throw ModelFormatError.unsupportedOperator(name: "\(node.opType)(mode=\(mode), scales=\(scales), \(transform))", opset: opset, node: name)
        }
        return Resize(scale: (Int(scales[2]), Int(scales[3])))
    }

    private func slice(_ node: ONNXNodeProto, name: String) throws -> Slice {
        let a = node.attributes
        let rank = try shapeOf(node.inputs[0], node: name).count
        if opset < 10 {
            let starts = a["starts"]?.ints ?? [], ends = a["ends"]?.ints ?? []
            return Slice(starts: starts, ends: ends, axes: a["axes"]?.ints ?? Array(0..<starts.count),
                         steps: Array(repeating: 1, count: starts.count))
        }
        func input(_ index: Int) throws -> [Int]? {
            node.inputs.count > index && !node.inputs[index].isEmpty ? try constant(node.inputs[index], node: name).ints : nil
        }
        guard let starts = try input(1), let ends = try input(2) else {
            throw ModelFormatError.unsupportedOperator(name: "Slice with computed bounds", opset: opset, node: name)
        }
        let axes = try input(3)?.map { $0 < 0 ? $0 + rank : $0 } ?? Array(0..<starts.count)
        let steps = try input(4) ?? Array(repeating: 1, count: starts.count)
        guard steps.allSatisfy({ $0 > 0 }) else {
            throw ModelFormatError.unsupportedOperator(name: "Slice with negative steps", opset: opset, node: name)
        }
        return Slice(starts: starts, ends: ends, axes: axes, steps: steps)
    }

    private func reshapeTarget(_ node: ONNXNodeProto, input: [Int], name: String) throws -> [Int] {
        let a = node.attributes
        switch node.opType {
        case "Flatten":
            var axis = a["axis"]?.int ?? 1
            if axis < 0 { axis += input.count }
            return [input[..<axis].reduce(1, *), input[axis...].reduce(1, *)]
        case "Squeeze":
            var axes = a["axes"]?.ints ?? []
            if node.inputs.count > 1 { axes = try constant(node.inputs[1], node: name).ints }
            let resolved = Set(axes.map { $0 < 0 ? $0 + input.count : $0 })
            return input.enumerated().filter { resolved.isEmpty ? $0.element != 1 : !resolved.contains($0.offset) }.map(\.element)
        default:  // Unsqueeze
            var axes = a["axes"]?.ints ?? []
            if node.inputs.count > 1 { axes = try constant(node.inputs[1], node: name).ints }
            let rank = input.count + axes.count
            let resolved = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
            var remaining = input.makeIterator()
            return (0..<rank).map { resolved.contains($0) ? 1 : remaining.next() ?? 1 }
        }
    }

    // MARK: - Values

    private mutating func define(_ name: String, _ tensor: ONNXTensorProto) {
        constants[name] = tensor
        shapes[name] = tensor.dims
    }

    private func constant(_ name: String, node: String) throws -> ONNXTensorProto {
        guard let value = constants[name] else {
            throw ModelFormatError.malformedONNX("node \(node) needs '\(name)' to be a constant")
        }
        return value
    }

    private func shapeOf(_ name: String, node: String) throws -> [Int] {
        guard let shape = shapes[name] ?? constants[name]?.dims else {
            throw ModelFormatError.malformedONNX("node \(node) reads '\(name)', which is not defined before it")
        }
        return shape
    }
}
