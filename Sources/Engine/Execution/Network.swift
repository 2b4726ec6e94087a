/// Which implementation runs the convolutions.
public enum ExecutionBackend: String, Sendable, CaseIterable {
    /// oneDNN convolutions on channels-last activations (the fast path).
    case oneDNN = "onednn"
    /// The plain reference implementation of every op (slow; for tests and where oneDNN is absent).
    case reference
}

/// A loaded, verified network: the graph plus backend data prepared once (convolution weights
/// reordered for oneDNN). Immutable and shareable across threads; run it through an `ExecutionContext`.
public final class Network: Sendable {
    public let graph: Graph
    public let backend: ExecutionBackend
    let convolutionWeights: [Int: OneDNNConvolutionWeights]
    /// For each value name, the number of nodes that read it (graph outputs count once more).
    let consumerCounts: [String: Int]

    /// Prepares `graph` for `backend`. `planningInputShapes` gives representative input shapes (for
    /// dynamic graphs) used to choose oneDNN's weight layouts; it is also shape-checked here.
    public init(graph: Graph, backend: ExecutionBackend = .oneDNN, planningInputShapes: [String: [Int]]) throws {
        self.graph = graph
        let shapes = try graph.inferShapes(inputShapes: planningInputShapes)
        var effectiveBackend = backend
        if backend == .oneDNN, !OneDNN.isAvailable { effectiveBackend = .reference }
        self.backend = effectiveBackend
        var weights: [Int: OneDNNConvolutionWeights] = [:]
        if effectiveBackend == .oneDNN {
            for (index, node) in graph.nodes.enumerated() {
                guard let conv = node.operation as? Conv, let input = shapes[node.inputs[0]] else { continue }
                weights[index] = try OneDNNConvolutionWeights(conv: conv, planningHeight: input[2], planningWidth: input[3],
                                                              node: node.name)
            }
        }
        convolutionWeights = weights
        var counts: [String: Int] = [:]
        for node in graph.nodes { for input in node.inputs { counts[input, default: 0] += 1 } }
        for output in graph.outputs { counts[output, default: 0] += 1 }
        consumerCounts = counts
    }

    /// Number of weights (parameters) held by the graph's ops and constants.
    public var parameterCount: Int {
        graph.nodes.reduce(0) { total, node in
            guard let conv = node.operation as? Conv else { return total }
            return total + conv.weights.count + conv.bias.count
        }
    }

    /// Convenience: a fresh context, one run.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try ExecutionContext(network: self).run(inputs)
    }
}
