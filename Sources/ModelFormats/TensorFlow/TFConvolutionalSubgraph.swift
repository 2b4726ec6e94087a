import Engine

/// Translates the convolutional part of a TF Object Detection API graph, from one tensor to another,
/// into an Engine graph (NCHW) for a fixed input size: Conv2D with its FusedBatchNorm or BiasAdd
/// folded in, the atrous SpaceToBatchND -> Conv2D(VALID) -> BatchToSpaceND triples as dilated
/// convolutions with TF's SAME padding, TF SAME padding for strided convolutions and pools (the
/// extra pixel bottom/right), Relu/Relu6, residual Add/AddV2 and Mul by a constant scale, Concat/ConcatV2 on channels,
/// and the second stage's spatial Mean + fully connected MatMul/BiasAdd heads (as 1x1 convolutions).
/// Anything else inside the range is refused naming the node, so a graph that differs is never
/// computed silently.
public struct TFConvolutionalSubgraph {
    /// The Engine graph's input, the source tensor transposed to NCHW.
    public static let inputName = "input"

    struct Value {
        var name: String
        /// NHWC, as TensorFlow sees it.
        var shape: [Int]
    }

    struct ConvolutionSpec {
        var input: String
        var filter: String
        var strides: (Int, Int)
        var samePadding: Bool
        var rate: Int
    }

    let nodes: [String: TFNode]
    let file: MappedFile
    let source: String
    var values: [String: Value] = [:]
    var engineNodes: [Graph.Node] = []
    var constants: [String: Tensor] = [:]

    /// The Engine graph computing `targets` (graph outputs in that order) from `source`, a
    /// [batch, height, width, channels] float tensor.
    public static func build(_ graph: TFGraphDef, from source: String, to targets: [String], batch: Int = 1,
                             height: Int, width: Int, channels: Int) throws -> Graph {
        var translator = TFConvolutionalSubgraph(nodes: try graph.nodesByName(), file: graph.file, source: source)
        translator.values[source] = Value(name: inputName, shape: [batch, height, width, channels])
        let outputs = try targets.map { try translator.value($0).name }
        // ReLUs and residual adds move into the convolutions' epilogues (oneDNN post-ops).
        return try GraphFusion.fuse(try Graph(inputs: [.init(name: inputName, shape: [batch, channels, height, width])], outputs: outputs,
                                              nodes: translator.engineNodes, constants: translator.constants))
    }

    func node(_ reference: String) throws -> TFNode {
        let name = String(reference.split(separator: ":").first ?? "")
        guard let node = nodes[name] else { throw ModelFormatError.unexpectedGraph("node \(name) is missing") }
        return node
    }

    /// The values of a constant, read through its `/read` Identity nodes.
    func constant(_ reference: String) throws -> (values: [Float], shape: [Int])? {
        var current = try node(reference)
        while current.op == "Identity", let input = current.inputs.first { current = try node(input) }
        guard current.op == "Const", case let .tensor(tensor) = current.attributes["value"] else { return nil }
        return (try tensor.floats(in: file, node: current.name), tensor.shape ?? [])
    }

    func ints(_ node: TFNode, _ key: String) -> [Int] {
        if case let .ints(values) = node.attributes[key] { return values }
        return []
    }

    func isSame(_ node: TFNode) -> Bool {
        if case let .string(padding) = node.attributes["padding"] { return padding == "SAME" }
        return false
    }

    /// TensorFlow's SAME padding along one axis: (before, after, output size); the odd pixel goes after.
    static func samePadding(size: Int, kernel: Int, stride: Int, rate: Int) -> (Int, Int, Int) {
        let output = (size + stride - 1) / stride
        let effective = (kernel - 1) * rate + 1
        let total = max((output - 1) * stride + effective - size, 0)
        return (total / 2, total - total / 2, output)
    }

    mutating func emit(_ name: String, _ operation: any GraphOperation, _ inputs: [String], shape: [Int]) -> Value {
        engineNodes.append(Graph.Node(name: name, operation: operation, inputs: inputs, outputs: [name]))
        let value = Value(name: name, shape: shape)
        values[name] = value
        return value
    }

    mutating func value(_ reference: String) throws -> Value {
        let name = String(reference.split(separator: ":").first ?? "")
        if let known = values[name] { return known }
        let node = try node(name)
        let data = node.inputs.filter { !$0.hasPrefix("^") }
        // Every op here is translated for TensorFlow's default NHWC layout.
        if case let .string(format) = node.attributes["data_format"], format != "NHWC" {
            throw ModelFormatError.unexpectedGraph("\(name) uses data format \(format), expected NHWC")
        }
        switch node.op {
        case "Identity":
            let input = try value(data[0])
            values[name] = input
            return input
        case "Relu", "Relu6":
            let x = try value(data[0])
            return emit(name, Unary(node.op == "Relu" ? .activation(.relu) : .relu6), [x.name], shape: x.shape)
        case "Add", "AddV2":
            let (a, b) = (try value(data[0]), try value(data[1]))
            guard a.shape == b.shape else { throw ModelFormatError.unexpectedGraph("\(name) adds \(a.shape) and \(b.shape)") }
            return emit(name, Elementwise(.add), [a.name, b.name], shape: a.shape)
        case "Mul":
            // The residual scale: a scalar constant times a tensor.
            let (scaleIndex, tensorIndex) = try constant(data[0]) != nil ? (0, 1) : (1, 0)
            guard let scale = try constant(data[scaleIndex]), scale.values.count == 1 else {
                throw ModelFormatError.unexpectedGraph("\(name) is not a multiplication by a constant scale")
            }
            // Scaling a biased convolution's output is folded into its weights and bias (the residual
            // up-projections); anything else is multiplied as it stands.
            let scaled = try self.node(data[tensorIndex])
            if scaled.op == "BiasAdd", values[scaled.name] == nil, let bias = try constant(scaled.inputs[1]),
               let spec = try? convolutionSpec(scaled.inputs[0]) {
                return try convolution(name, spec: spec, factors: Array(repeating: scale.values[0], count: bias.values.count),
                                       shifts: bias.values.map { $0 * scale.values[0] })
            }
            let x = try value(data[tensorIndex])
            constants["\(name)/scale"] = Tensor(shape: [1], values: scale.values)
            return emit(name, Elementwise(.mul), [x.name, "\(name)/scale"], shape: x.shape)
        case "ConcatV2", "Concat":
            // ConcatV2 takes the axis last; TF 1.x's Concat takes it first.
            let (axisInput, inputs) = node.op == "Concat" ? (data[0], data.dropFirst()) : (data[data.count - 1], data.dropLast())
            guard let axis = try constant(axisInput)?.values.first, axis == 3 || axis == -1 else {
                throw ModelFormatError.unexpectedGraph("\(name) does not concatenate channels")
            }
            let parts = try inputs.map { try value($0) }
            let shape = [parts[0].shape[0], parts[0].shape[1], parts[0].shape[2], parts.reduce(0) { $0 + $1.shape[3] }]
            return emit(name, Concat(axis: 1), parts.map(\.name), shape: shape)
        case "MaxPool", "AvgPool":
            let x = try value(data[0])
            let kernel = ints(node, "ksize"), strides = ints(node, "strides")
            guard kernel.count == 4, strides.count == 4 else { throw ModelFormatError.unexpectedGraph("\(name) has no ksize/strides") }
            let (top, bottom, height, left, right, width) = try pads(x.shape, kernel: (kernel[1], kernel[2]),
                                                                     strides: (strides[1], strides[2]), rate: 1, same: isSame(node))
            if kernel[1] == 1, kernel[2] == 1, strides[1] == 1, strides[2] == 1 {
                // A 1x1 window with stride 1 (the OD API's `maxpool_kernel_size: 1` after the crops) is the identity.
                values[name] = x
                return x
            }
            let operation: any GraphOperation = node.op == "MaxPool"
                ? MaxPool(kernel: (kernel[1], kernel[2]), strides: (strides[1], strides[2]), pads: [top, left, bottom, right])
                : AveragePool(kernel: (kernel[1], kernel[2]), strides: (strides[1], strides[2]), pads: [top, left, bottom, right])
            return emit(name, operation, [x.name], shape: [x.shape[0], height, width, x.shape[3]])
        case "FusedBatchNorm", "FusedBatchNormV3":
            guard let scale = try constant(data[1]), let offset = try constant(data[2]), let mean = try constant(data[3]),
                  let variance = try constant(data[4]) else { throw ModelFormatError.unexpectedGraph("\(name) has non-constant parameters") }
            var epsilon: Float = 0.001
            if case let .float(value) = node.attributes["epsilon"] { epsilon = value }
            let factors = (0..<scale.values.count).map { scale.values[$0] / (variance.values[$0] + epsilon).squareRoot() }
            let shifts = (0..<factors.count).map { offset.values[$0] - mean.values[$0] * factors[$0] }
            return try convolution(name, spec: try convolutionSpec(data[0]), factors: factors, shifts: shifts)
        case "BiasAdd":
            guard let bias = try constant(data[1]) else { throw ModelFormatError.unexpectedGraph("\(name) has a non-constant bias") }
            return try convolution(name, spec: try convolutionSpec(data[0]), factors: nil, shifts: bias.values)
        case "Conv2D", "BatchToSpaceND", "MatMul":
            return try convolution(name, spec: try convolutionSpec(name), factors: nil, shifts: nil)
        case "Mean":
            // The second stage's spatial average (keep_dims over height and width).
            let x = try value(data[0])
            guard let axes = try constant(data[1])?.values, Set(axes) == [1, 2] else {
                throw ModelFormatError.unexpectedGraph("\(name) is not a mean over height and width")
            }
            let pool = AveragePool(kernel: (x.shape[1], x.shape[2]), strides: (1, 1), pads: [0, 0, 0, 0])
            return emit(name, pool, [x.name], shape: [x.shape[0], 1, 1, x.shape[3]])
        case "Reshape":
            // Flattening a [N, 1, 1, C] mean to [N, C] changes nothing in memory: the value passes through
            // (kept [N, 1, 1, C], so the fully connected layers become 1x1 convolutions).
            let x = try value(data[0])
            guard x.shape[1] == 1, x.shape[2] == 1 else {
                throw ModelFormatError.unexpectedGraph("\(name) reshapes \(x.shape), not a [N, 1, 1, C] flatten")
            }
            values[name] = x
            return x
        default:
            throw ModelFormatError.unexpectedGraph("\(name): op \(node.op) is not expected in the convolutional part")
        }
    }

    /// A Conv2D, or the atrous triple around one, that a batch norm or bias is folded into.
    func convolutionSpec(_ reference: String) throws -> ConvolutionSpec {
        let node = try node(reference)
        let data = node.inputs.filter { !$0.hasPrefix("^") }
        if node.op == "MatMul" {
            // A fully connected layer on [N, 1, 1, C]: a 1x1 convolution with the [C, out] weights.
            for flag in ["transpose_a", "transpose_b"] {
                if case .bool(true) = node.attributes[flag] { throw ModelFormatError.unexpectedGraph("\(node.name) has \(flag)") }
            }
            return ConvolutionSpec(input: data[0], filter: data[1], strides: (1, 1), samePadding: false, rate: 1)
        }
        if node.op == "Conv2D" {
            if case let .string(format) = node.attributes["data_format"], format != "NHWC" {
                throw ModelFormatError.unexpectedGraph("\(node.name) uses data format \(format), expected NHWC")
            }
            let strides = ints(node, "strides"), dilations = ints(node, "dilations")
            guard strides.count == 4, dilations.allSatisfy({ $0 == 1 }) else {
                throw ModelFormatError.unexpectedGraph("\(node.name) has strides \(strides), dilations \(dilations)")
            }
            return ConvolutionSpec(input: data[0], filter: data[1], strides: (strides[1], strides[2]), samePadding: isSame(node), rate: 1)
        }
        guard node.op == "BatchToSpaceND" else { throw ModelFormatError.unexpectedGraph("\(node.name) (\(node.op)) is not a convolution") }
        let conv = try self.node(data[0])
        let convInputs = conv.inputs.filter { !$0.hasPrefix("^") }
        let toBatch = try self.node(convInputs[0])
        guard conv.op == "Conv2D", !isSame(conv), toBatch.op == "SpaceToBatchND",
              let block = try constant(toBatch.inputs[1]), block.values.count == 2, block.values[0] == block.values[1],
              let back = try constant(data[1]), back.values == block.values else {
            throw ModelFormatError.unexpectedGraph("\(node.name) is not an atrous SpaceToBatchND -> Conv2D -> BatchToSpaceND triple")
        }
        return ConvolutionSpec(input: toBatch.inputs[0], filter: convInputs[1], strides: (1, 1), samePadding: true, rate: Int(block.values[0]))
    }

    /// (top, bottom, output height, left, right, output width) for TF's SAME or VALID padding.
    func pads(_ shape: [Int], kernel: (Int, Int), strides: (Int, Int), rate: Int, same: Bool) throws -> (Int, Int, Int, Int, Int, Int) {
        if same {
            let vertical = Self.samePadding(size: shape[1], kernel: kernel.0, stride: strides.0, rate: rate)
            let horizontal = Self.samePadding(size: shape[2], kernel: kernel.1, stride: strides.1, rate: rate)
            return (vertical.0, vertical.1, vertical.2, horizontal.0, horizontal.1, horizontal.2)
        }
        let height = (shape[1] - ((kernel.0 - 1) * rate + 1)) / strides.0 + 1
        let width = (shape[2] - ((kernel.1 - 1) * rate + 1)) / strides.1 + 1
        guard height > 0, width > 0 else { throw ModelFormatError.unexpectedGraph("a VALID window larger than its input \(shape)") }
        return (0, 0, height, 0, 0, width)
    }

    /// Emits the convolution of `spec` with per-output-channel `factors` (batch norm) and `shifts`
    /// (batch-norm shift or bias) folded into its weights and bias.
    mutating func convolution(_ name: String, spec: ConvolutionSpec, factors: [Float]?, shifts: [Float]?) throws -> Value {
        let x = try value(spec.input)
        guard var filter = try constant(spec.filter), filter.shape.count == 4 || filter.shape.count == 2 else {
            throw ModelFormatError.unexpectedGraph("\(name): the filter is not a constant [h, w, in, out] or [in, out]")
        }
        if filter.shape.count == 2 { filter.shape = [1, 1] + filter.shape }
        let (kh, kw, inputs, outputs) = (filter.shape[0], filter.shape[1], filter.shape[2], filter.shape[3])
        guard inputs == x.shape[3] else {
            throw ModelFormatError.shapeMismatch(tensor: spec.filter, expected: [kh, kw, x.shape[3], outputs], actual: filter.shape)
        }
        guard factors?.count ?? outputs == outputs, shifts?.count ?? outputs == outputs else {
            throw ModelFormatError.unexpectedGraph("\(name): batch-norm or bias size differs from \(outputs) channels")
        }
        // HWIO -> OIHW, scaled per output channel.
        var weights = [Float](repeating: 0, count: outputs * inputs * kh * kw)
        for o in 0..<outputs {
            let factor = factors?[o] ?? 1
            for i in 0..<inputs {
                for y in 0..<kh {
                    for xIndex in 0..<kw {
                        weights[((o * inputs + i) * kh + y) * kw + xIndex] = filter.values[((y * kw + xIndex) * inputs + i) * outputs + o] * factor
                    }
                }
            }
        }
        let (top, bottom, height, left, right, width) = try pads(x.shape, kernel: (kh, kw), strides: spec.strides, rate: spec.rate,
                                                                 same: spec.samePadding)
        let conv = Conv(weights: Tensor(shape: [outputs, inputs, kh, kw], values: weights), bias: shifts, strides: spec.strides,
                        pads: [top, left, bottom, right], dilations: (spec.rate, spec.rate))
        return emit(name, conv, [x.name], shape: [x.shape[0], height, width, outputs])
    }
}
