import Engine
import Foundation

/// A classifier saved as onnx2torch writes it (`torch.save` of the `torch.fx.GraphModule` that
/// `onnx2torch.convert` returns): SpeciesNet's released `.pt` files. Read without executing anything:
/// the pickle is rebuilt as data (the allow-list names onnx2torch's module classes), the generated
/// `forward` code is parsed as data (`FXGraphCode`), and every onnx2torch module is turned back into
/// the ONNX operator it was converted from, so that the ONNX converter (the same one that runs a
/// user's tf2onnx export of the same network) builds the engine graph.
public struct OnnxTorchGraphModule {
    /// The parsed forward code.
    public let code: FXGraphCode
    /// The rebuilt ONNX graph; its input has the shape given to `init`.
    let graph: ONNXGraphProto

    /// Whether a checkpoint's pickle is an fx GraphModule (rather than a detector).
    public static func isGraphModule(_ checkpoint: TorchCheckpoint) -> Bool {
        checkpoint.root.object?.type.description == "torch.fx.graph_module.reduce_graph_module"
    }

    /// - Parameter inputShape: the network input (SpeciesNet: [1, 480, 480, 3], NHWC).
    public init(_ checkpoint: TorchCheckpoint, inputShape: [Int]) throws {
        guard let root = checkpoint.root.object, Self.isGraphModule(checkpoint) else {
            throw ModelFormatError.notACheckpoint(reason: "the pickle is not a torch.fx GraphModule")
        }
        guard let source = root["_code"]?.string else {
            throw ModelFormatError.malformedPickle(offset: 0, reason: "the GraphModule carries no generated code (_code)")
        }
        code = try FXGraphCode(parsing: source)
        var builder = Builder(root: root, checkpoint: checkpoint)
        for statement in code.statements { try builder.add(statement) }
        graph = ONNXGraphProto(nodes: builder.nodes, initializers: builder.initializers, inputs: [(code.input, inputShape)],
                               outputs: [code.output])
    }

    /// The engine graph (converted by the ONNX converter, then fused as ONNX graphs are).
    public func engineGraph() throws -> Graph {
        var converter = ONNXGraphConverter(opset: 13)
        return try GraphFusion.fuse(try converter.convert(graph))
    }

    /// Turns each statement into ONNX nodes and initializers.
    private struct Builder {
        let root: PickleObject
        let checkpoint: TorchCheckpoint
        var nodes: [ONNXNodeProto] = []
        var initializers: [ONNXTensorProto] = []
        private var counter = 0

        init(root: PickleObject, checkpoint: TorchCheckpoint) {
            self.root = root
            self.checkpoint = checkpoint
        }

        mutating func add(_ statement: FXGraphCode.Statement) throws {
            switch statement {
            case let .attribute(target, path):
                // `self.initializers.onnx_initializer_N`: a buffer (or parameter) of a submodule.
                guard let owner = try module(at: path.dropLast()), let name = path.last,
                      let tensor = owner["_buffers"]?.dictionary?[name]?.tensor ?? owner["_parameters"]?.dictionary?[name]?.tensor else {
                    throw ModelFormatError.malformedPickle(offset: 0, reason: "self.\(path.joined(separator: ".")) is not a tensor of the module")
                }
                initializers.append(ONNXTensorProto(name: target, dims: tensor.shape, floats: try checkpoint.floats(tensor, name: path.joined(separator: "."))))
            case let .call(target, path, arguments):
                guard let module = try module(at: path[...]) else {
                    throw ModelFormatError.malformedPickle(offset: 0, reason: "the code calls self.\(path.joined(separator: ".")), which is not a submodule")
                }
                try call(module, name: path.joined(separator: "."), inputs: arguments, output: target)
            }
        }

        func module(at path: ArraySlice<String>) throws -> PickleObject? {
            var current: PickleObject? = root
            for name in path { current = current?.module(name) }
            return current
        }

        mutating func fresh(_ base: String) -> String {
            counter += 1
            return "\(base)#\(counter)"
        }

        /// One module call as ONNX node(s) reading `inputs` and writing `output`.
        mutating func call(_ module: PickleObject, name: String, inputs: [String], output: String) throws {
            func unsupported(_ detail: String = "") -> ModelFormatError {
                .unsupportedOperator(name: module.type.name + detail, opset: 13, node: name)
            }
            func node(_ opType: String, _ inputs: [String], _ attributes: [ONNXAttribute] = []) {
                nodes.append(ONNXNodeProto(name: name, opType: opType, inputs: inputs, outputs: [output], attributes: attributes))
            }
            let expectedInputs: Int
            switch module.type.name {
            case "OnnxTranspose":
                expectedInputs = 1
                guard let perm = module["perm"]?.ints else { throw unsupported(" without a permutation") }
                node("Transpose", inputs, [ONNXAttribute(name: "perm", ints: perm)])
            case "OnnxPadDynamic":
                expectedInputs = inputs.count == 3 ? 3 : 2
                node("Pad", inputs, [ONNXAttribute(name: "mode", string: module["mode"]?.string ?? "constant")])
            case "OnnxPadStatic":
                expectedInputs = 1
                guard let torchPads = module["pads"]?.ints else { throw unsupported(" without pads") }
                let pads = name + "#pads"
                initializers.append(ONNXTensorProto(name: pads, dims: [8], values: Self.onnxPads(fromTorch: torchPads).map(Double.init)))
                let mode = module["mode"]?.string ?? "constant"
                guard mode == "constant", (module["constant_value"]?.double ?? 0) == 0 else { throw unsupported("(mode \(mode))") }
                node("Pad", inputs + [pads], [ONNXAttribute(name: "mode", string: mode)])
            case "Conv2d":
                expectedInputs = 1
                guard module["padding_mode"]?.string ?? "zeros" == "zeros", let weight = module.parameter("weight") else {
                    throw unsupported(" (padding mode or weight)")
                }
                let stride = module["stride"]?.ints ?? [1, 1], padding = module["padding"]?.ints, dilation = module["dilation"]?.ints ?? [1, 1]
                guard let padding, padding.count == 2, stride.count == 2, dilation.count == 2 else { throw unsupported(" (padding \(String(describing: module["padding"])))") }
                let weightName = name + "#weight"
                initializers.append(ONNXTensorProto(name: weightName, dims: weight.shape, floats: try checkpoint.floats(weight, name: weightName)))
                var convInputs = [inputs.first ?? "", weightName]
                if let bias = module.parameter("bias") {
                    let biasName = name + "#bias"
                    initializers.append(ONNXTensorProto(name: biasName, dims: bias.shape, floats: try checkpoint.floats(bias, name: biasName)))
                    convInputs.append(biasName)
                }
                node("Conv", convInputs, [ONNXAttribute(name: "strides", ints: stride), ONNXAttribute(name: "dilations", ints: dilation),
                                          ONNXAttribute(name: "pads", ints: padding + padding), ONNXAttribute(name: "group", int: module["groups"]?.int ?? 1)])
            case "Sigmoid":
                expectedInputs = 1
                node("Sigmoid", inputs)
            case "Softmax":
                expectedInputs = 1
                node("Softmax", inputs, [ONNXAttribute(name: "axis", int: module["dim"]?.int ?? -1)])
            case "OnnxBinaryMathOperation":
                expectedInputs = 2
                guard module["broadcast"]?.int != 1, case let .global(function)? = module["math_op_function"] else {
                    throw unsupported(" (old-style broadcast or unknown function)")
                }
                let operations = ["torch.add": "Add", "torch.sub": "Sub", "torch.mul": "Mul", "torch.div": "Div",
                                  "onnx2torch.node_converters.binary_math_operations._onnx_div": "Div"]
                guard let operation = operations[function.description] else { throw unsupported("(\(function))") }
                node(operation, inputs)
            case "OnnxGlobalAveragePool", "OnnxGlobalAveragePoolWithKnownInputShape":
                expectedInputs = 1
                node("GlobalAveragePool", inputs)
            case "OnnxSqueezeDynamicAxes":
                expectedInputs = 2
                node("Squeeze", inputs)
            case "OnnxSqueezeStaticAxes", "OnnxSqueezeStaticAxesOld":
                expectedInputs = 1
                var squeezeInputs = inputs
                if let axes = module["axes"]?.ints {
                    let axesName = name + "#axes"
                    initializers.append(ONNXTensorProto(name: axesName, dims: [axes.count], values: axes.map(Double.init)))
                    squeezeInputs.append(axesName)
                }
                node("Squeeze", squeezeInputs)
            case "OnnxReshape":
                expectedInputs = 2
                node("Reshape", inputs)
            case "OnnxMatMul":
                expectedInputs = 2
                node("MatMul", inputs)
            case "Sequential":
                // Children in order, each feeding the next.
                expectedInputs = 1
                let children = module.modules.compactMap(\.object)
                guard !children.isEmpty else { throw unsupported(" (empty)") }
                var current = inputs
                for (index, child) in children.enumerated() {
                    let childOutput = index == children.count - 1 ? output : fresh(output)
                    try call(child, name: "\(name).\(index)", inputs: current, output: childOutput)
                    current = [childOutput]
                }
            default:
                throw unsupported()
            }
            guard inputs.count == expectedInputs else {
                throw ModelFormatError.malformedPickle(offset: 0, reason: "\(name) (\(module.type.name)) is called with \(inputs.count) arguments, expected \(expectedInputs)")
            }
        }

        /// torch's F.pad order (last dimension first, begin/end pairs) back to ONNX's (all begins, then all
        /// ends, first dimension first), for a 4-D tensor.
        static func onnxPads(fromTorch pads: [Int]) -> [Int] {
            var begins = [Int](repeating: 0, count: 4), ends = [Int](repeating: 0, count: 4)
            for pair in 0..<min(pads.count / 2, 4) {
                begins[3 - pair] = pads[2 * pair]
                ends[3 - pair] = pads[2 * pair + 1]
            }
            return begins + ends
        }
    }
}

private extension PickleObject {
    /// A registered parameter (`_parameters[name]`), nil when absent or None.
    func parameter(_ name: String) -> TensorReference? {
        self["_parameters"]?.dictionary?[name]?.tensor
    }
}
