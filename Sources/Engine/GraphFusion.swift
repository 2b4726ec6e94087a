/// Rewrites a graph so that work a convolution can do in its epilogue is not done as separate ops:
///   Conv -> Sigmoid -> Mul(conv, sigmoid)   becomes Conv(activation: SiLU)   (how exporters spell SiLU)
///   Conv -> Sigmoid (sole reader)           becomes Conv(activation: Sigmoid)
///   Conv -> Relu (sole reader)              becomes Conv(activation: ReLU)
///   Add(x, Conv(...)) (sole reader)         becomes Conv(..., residual: x)
///   Conv(..., residual: x) -> Relu (sole reader) becomes Conv(..., residual: x, then ReLU)
///   Conv -> Mul/Add(conv, per-channel constant) (sole reader) becomes Conv with scaled weights / bias
///     (a BatchNorm an exporter left as Mul + Add, as tf2onnx does after Keras' depthwise convolutions)
/// Results are identical up to float rounding; the fused forms run as oneDNN post-ops.
public enum GraphFusion {
    public static func fuse(_ graph: Graph) throws -> Graph {
        var nodes = graph.nodes
        foldChannelAffine(&nodes, constants: graph.constants, outputs: Set(graph.outputs))
        fuseActivations(&nodes, outputs: Set(graph.outputs))
        if graph.inputs.allSatisfy({ $0.shape.allSatisfy { $0 > 0 } }),
           let shapes = try? Graph(inputs: graph.inputs, outputs: graph.outputs, nodes: nodes, constants: graph.constants)
            .inferShapes(inputShapes: Dictionary(uniqueKeysWithValues: graph.inputs.map { ($0.name, $0.shape) })) {
            fuseResiduals(&nodes, outputs: Set(graph.outputs), shapes: shapes)
            fuseResidualActivations(&nodes, outputs: Set(graph.outputs))
        }
        return try Graph(inputs: graph.inputs, outputs: graph.outputs, nodes: nodes, constants: graph.constants)
    }

    /// Folds a per-channel multiply or add that only reads a convolution into its weights and bias (in
    /// double precision, then rounded once), repeatedly, so Mul then Add both fold.
    private static func foldChannelAffine(_ nodes: inout [Graph.Node], constants: [String: Tensor], outputs: Set<String>) {
        var folded = true
        while folded {
            folded = false
            let readers = readers(nodes)
            for index in nodes.indices {
                guard let conv = nodes[index].operation as? Conv, conv.activation == .none, !conv.addsResidual,
                      let convOut = nodes[index].outputs.first, !outputs.contains(convOut),
                      let convReaders = readers[convOut], convReaders.count == 1 else { continue }
                let reader = nodes[convReaders[0]]
                guard let elementwise = reader.operation as? Elementwise, elementwise.function == .mul || elementwise.function == .add,
                      reader.inputs.count == 2, reader.inputs.filter({ $0 == convOut }).count == 1,
                      let other = reader.inputs.first(where: { $0 != convOut }), let constant = constants[other],
                      constant.count == conv.outChannels, Self.isPerChannel(constant.shape, channels: conv.outChannels) else { continue }
                let channels = conv.outChannels, perChannel = conv.weights.count / channels
                var weights = conv.weights.values, bias = conv.bias
                for channel in 0..<channels {
                    let value = Double(constant.values[channel])
                    if elementwise.function == .mul {
                        for offset in 0..<perChannel {
                            weights[channel * perChannel + offset] = Float(Double(weights[channel * perChannel + offset]) * value)
                        }
                        bias[channel] = Float(Double(bias[channel]) * value)
                    } else {
                        bias[channel] = Float(Double(bias[channel]) + value)
                    }
                }
                let replacement = Conv(weights: Tensor(shape: conv.weights.shape, values: weights), bias: bias, strides: conv.strides,
                                       pads: conv.pads, dilations: (conv.dilations.height, conv.dilations.width), groups: conv.groups)
                nodes[index] = Graph.Node(name: nodes[index].name, operation: replacement, inputs: nodes[index].inputs, outputs: reader.outputs)
                nodes.remove(at: convReaders[0])
                folded = true
                break
            }
        }
    }

    /// [C, 1, 1] or [1, C, 1, 1]: one value per channel of an NCHW tensor (a bare [C] would broadcast
    /// along the width instead).
    static func isPerChannel(_ shape: [Int], channels: Int) -> Bool {
        shape == [channels, 1, 1] || shape == [1, channels, 1, 1]
    }

    private static func readers(_ nodes: [Graph.Node]) -> [String: [Int]] {
        var readers: [String: [Int]] = [:]
        for (index, node) in nodes.enumerated() { for input in node.inputs { readers[input, default: []].append(index) } }
        return readers
    }

    private static func fuseActivations(_ nodes: inout [Graph.Node], outputs: Set<String>) {
        var removed = Set<Int>()
        let readers = readers(nodes)
        for (index, node) in nodes.enumerated() {
            guard let conv = node.operation as? Conv, conv.activation == .none, !conv.addsResidual,
                  let convOut = node.outputs.first, !outputs.contains(convOut), let convReaders = readers[convOut] else { continue }
            // Conv -> Relu (its only reader): the ReLU runs in the convolution's epilogue.
            if convReaders.count == 1, (nodes[convReaders[0]].operation as? Unary)?.function == .activation(.relu) {
                nodes[index] = Graph.Node(name: node.name, operation: conv.with(activation: .relu), inputs: node.inputs,
                                          outputs: nodes[convReaders[0]].outputs)
                removed.insert(convReaders[0])
                continue
            }
            let sigmoids = convReaders.filter { (nodes[$0].operation as? Unary)?.function == .activation(.sigmoid) }
            guard sigmoids.count == 1, let sigmoidIndex = sigmoids.first else { continue }
            let sigmoidOut = nodes[sigmoidIndex].outputs[0]
            if convReaders.count == 1 {
                nodes[index] = Graph.Node(name: node.name, operation: conv.with(activation: .sigmoid), inputs: node.inputs,
                                          outputs: [sigmoidOut])
                removed.insert(sigmoidIndex)
                continue
            }
            guard convReaders.count == 2, let mulIndex = convReaders.first(where: { $0 != sigmoidIndex }),
                  let mul = nodes[mulIndex].operation as? Elementwise, mul.function == .mul,
                  Set(nodes[mulIndex].inputs) == Set([convOut, sigmoidOut]), readers[sigmoidOut] == [mulIndex],
                  !outputs.contains(sigmoidOut) else { continue }
            nodes[index] = Graph.Node(name: node.name, operation: conv.with(activation: .silu), inputs: node.inputs,
                                      outputs: nodes[mulIndex].outputs)
            removed.formUnion([sigmoidIndex, mulIndex])
        }
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    private static func fuseResiduals(_ nodes: inout [Graph.Node], outputs: Set<String>, shapes: [String: [Int]]) {
        var removed = Set<Int>()
        let readers = readers(nodes)
        let producer = Dictionary(nodes.enumerated().flatMap { index, node in node.outputs.map { ($0, index) } },
                                  uniquingKeysWith: { first, _ in first })
        for (index, node) in nodes.enumerated() {
            guard let add = node.operation as? Elementwise, add.function == .add, node.inputs.count == 2,
                  shapes[node.inputs[0]] == shapes[node.inputs[1]] else { continue }
            for (convSide, other) in [(0, 1), (1, 0)] {
                let convValue = node.inputs[convSide]
                guard let convIndex = producer[convValue], !removed.contains(convIndex),
                      let conv = nodes[convIndex].operation as? Conv, !conv.addsResidual,
                      readers[convValue] == [index], !outputs.contains(convValue),
                      node.inputs[other] != convValue else { continue }
                // The fused conv takes the Add's place, where both of its inputs already exist.
                nodes[index] = Graph.Node(name: nodes[convIndex].name, operation: conv.with(addsResidual: true),
                                          inputs: [nodes[convIndex].inputs[0], node.inputs[other]], outputs: node.outputs)
                removed.insert(convIndex)
                break
            }
        }
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }

    /// InceptionResNet's `relu(x + scale * up(branches))`: the ReLU after a fused residual sum.
    private static func fuseResidualActivations(_ nodes: inout [Graph.Node], outputs: Set<String>) {
        var removed = Set<Int>()
        let readers = readers(nodes)
        for (index, node) in nodes.enumerated() {
            guard let conv = node.operation as? Conv, conv.addsResidual, conv.residualActivation == .none,
                  let convOut = node.outputs.first, !outputs.contains(convOut), let convReaders = readers[convOut],
                  convReaders.count == 1, (nodes[convReaders[0]].operation as? Unary)?.function == .activation(.relu) else { continue }
            nodes[index] = Graph.Node(name: node.name, operation: conv.with(residualActivation: .relu), inputs: node.inputs,
                                      outputs: nodes[convReaders[0]].outputs)
            removed.insert(convReaders[0])
        }
        nodes = nodes.enumerated().filter { !removed.contains($0.offset) }.map(\.element)
    }
}
