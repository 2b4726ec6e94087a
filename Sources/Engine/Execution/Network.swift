import Dispatch
import Foundation

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
    /// The arithmetic of the convolutions (see `PrecisionPlan` for which ones it covers).
    public let precision: PrecisionPlan
    /// The precision each convolution runs in, by node name (float32 ones included).
    public let convolutionPrecisions: [String: Precision]
    let planningInputShapes: [String: [Int]]
    let convolutionWeights: [Int: OneDNNConvolutionWeights]
    /// For each value name, the number of nodes that read it (graph outputs count once more).
    let consumerCounts: [String: Int]

    /// Prepares `graph` for `backend`. `planningInputShapes` gives representative input shapes (for
    /// dynamic graphs) used to choose oneDNN's weight layouts; it is also shape-checked here.
    /// `precision` other than fp32 needs the oneDNN backend and a CPU that runs it fast (else this throws
    /// `EngineError.unsupportedPrecision` with the reason).
    public init(graph: Graph, backend: ExecutionBackend = .oneDNN, planningInputShapes: [String: [Int]],
                precision: PrecisionPlan = .fp32) throws {
        if graph.nodes.contains(where: { ($0.operation as? Conv)?.holdsWeights == false }) {
            throw EngineError.invalidGraph("the graph's float32 convolution weights were released after an earlier preparation (Network.releasingGraphWeights); load the model again to prepare it anew")
        }
        self.graph = graph
        self.planningInputShapes = planningInputShapes
        self.precision = precision
        let shapes = try graph.inferShapes(inputShapes: planningInputShapes)
        var effectiveBackend = backend
        if backend == .oneDNN, !OneDNN.isAvailable { effectiveBackend = .reference }
        self.backend = effectiveBackend
        if precision.precision != .fp32 {
            if let reason = precision.precision.unavailabilityReason { throw EngineError.unsupportedPrecision(reason) }
            if effectiveBackend != .oneDNN {
                throw EngineError.unsupportedPrecision("\(precision.precision.rawValue) runs on the oneDNN backend only, not --backend reference")
            }
        }
        let firstConvolution = graph.nodes.firstIndex { $0.operation is Conv }
        var chosen: [Int: (Precision, ClosedRange<Float>)] = [:]
        for (index, node) in graph.nodes.enumerated() {
            guard let conv = node.operation as? Conv else { continue }
            guard let range = precision.reducedPrecisionRange(for: conv, sourceName: node.inputs[0], isFirstConvolution: index == firstConvolution) else { continue }
            // bf16 leaves the layers oneDNN runs through its float32 Winograd kernel (AVX-512) in float32:
            // 2.25 multiplications per output instead of bf16's 9 at twice float32's rate, so faster, and
            // with float32's rounding. Measured on MDv5a (README, "Speed"): 1.75 -> 1.55 s per pass.
            if precision.precision == .bf16, effectiveBackend == .oneDNN, let input = shapes[node.inputs[0]],
               OneDNNConvolutionWeights.takesFloat32Winograd(conv, input: input) { continue }
            chosen[index] = (precision.precision, range)
        }
        convolutionPrecisions = Dictionary(uniqueKeysWithValues: graph.nodes.enumerated().compactMap { index, node in
            node.operation is Conv ? (node.name, chosen[index]?.0 ?? .fp32) : nil
        })
        convolutionWeights = effectiveBackend == .oneDNN ? try Self.prepareConvolutions(graph, shapes: shapes, precisions: chosen) : [:]
        var counts: [String: Int] = [:]
        for node in graph.nodes { for input in node.inputs { counts[input, default: 0] += 1 } }
        for output in graph.outputs { counts[output, default: 0] += 1 }
        consumerCounts = counts
    }

    /// Reorders every convolution's weights and generates its kernel for the planning shape, on all
    /// cores at once (each is independent; oneDNN primitive creation is thread-safe).
    private static func prepareConvolutions(_ graph: Graph, shapes: [String: [Int]],
                                            precisions: [Int: (Precision, ClosedRange<Float>)]) throws -> [Int: OneDNNConvolutionWeights] {
        let jobs: [(index: Int, conv: Conv, input: [Int], name: String)] = graph.nodes.enumerated().compactMap { index, node in
            guard let conv = node.operation as? Conv, let input = shapes[node.inputs[0]] else { return nil }
            return (index, conv, input, node.name)
        }
        let results = ConcurrentResults<Result<OneDNNConvolutionWeights, Error>>(count: jobs.count)
        DispatchQueue.concurrentPerform(iterations: jobs.count) { position in
            let job = jobs[position]
            results.set(position, Result {
                try OneDNNConvolutionWeights(conv: job.conv, planningBatch: job.input[0], planningHeight: job.input[2],
                                             planningWidth: job.input[3], precision: precisions[job.index]?.0 ?? .fp32,
                                             sourceRange: precisions[job.index]?.1 ?? 0...0, node: job.name)
            })
        }
        var weights: [Int: OneDNNConvolutionWeights] = [:]
        for (position, job) in jobs.enumerated() { weights[job.index] = try results.get(position).get() }
        return weights
    }

    /// The same graph with its convolutions in another precision (weights prepared anew), on `backend`
    /// (default: this network's). A model loaded on the reference backend only to be converted this way
    /// never pays for oneDNN's float32 weight layouts (with Winograd's, ~0.4 s and ~350 MB for MDv5a).
    public func with(precision: PrecisionPlan, backend: ExecutionBackend? = nil) throws -> Network {
        try Network(graph: graph, backend: backend ?? self.backend, planningInputShapes: planningInputShapes, precision: precision)
    }

    /// This network without the graph's float32 convolution weights, once oneDNN holds its own copies
    /// (in its layouts, or in another precision): for MDv5a 560 MB that nothing reads again. The result
    /// runs exactly as this one (plans for new input sizes reorder from oneDNN's copies), but cannot be
    /// converted (`with(precision:)` refuses). On the reference backend, which computes from the graph's
    /// weights, it is this network. The memory is freed once no other holder of the graph remains (the
    /// caller drops this network and any `LoadedModel` holding it).
    public func releasingGraphWeights() -> Network {
        guard backend == .oneDNN else { return self }
        var slim = graph
        for index in slim.nodes.indices {
            if let conv = slim.nodes[index].operation as? Conv { slim.nodes[index].operation = conv.releasingWeights() }
        }
        return Network(releasedFrom: self, graph: slim)
    }

    private init(releasedFrom network: Network, graph: Graph) {
        self.graph = graph
        backend = network.backend
        precision = network.precision
        convolutionPrecisions = network.convolutionPrecisions
        planningInputShapes = network.planningInputShapes
        convolutionWeights = network.convolutionWeights
        consumerCounts = network.consumerCounts
    }

    /// Number of weights (parameters) held by the graph's ops and constants.
    public var parameterCount: Int {
        graph.nodes.reduce(0) { total, node in
            guard let conv = node.operation as? Conv else { return total }
            return total + conv.weightCount + conv.bias.count
        }
    }

    /// Convenience: a fresh context, one run.
    public func run(_ inputs: [String: Tensor]) throws -> [String: Tensor] {
        try ExecutionContext(network: self).run(inputs)
    }
}

/// Results written by concurrent workers, one slot each (also used by the model loaders).
public final class ConcurrentResults<Value>: @unchecked Sendable {
    // Safety: each slot is written by exactly one worker, and read only after all workers finished;
    // the lock makes the writes visible.
    private var slots: [Value?]
    private let lock = NSLock()

    public init(count: Int) {
        slots = Array(repeating: nil, count: count)
    }

    public func set(_ index: Int, _ value: Value) {
        lock.lock()
        slots[index] = value
        lock.unlock()
    }

    public func get(_ index: Int) -> Value {
        lock.lock()
        defer { lock.unlock() }
        return slots[index]!
    }
}
