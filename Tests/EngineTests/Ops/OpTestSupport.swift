import Engine
import TestSupport

/// Runs one op as a single-node graph on the given backend (the executor's fast path on oneDNN).
func runSingleOp(_ operation: any GraphOperation, inputs: [Tensor], backend: ExecutionBackend,
                 outputCount: Int = 1) throws -> [Tensor] {
    let inputNames = inputs.indices.map { "x\($0)" }
    let outputNames = (0..<outputCount).map { "y\($0)" }
    let graph = try Graph(inputs: zip(inputNames, inputs).map { Graph.Input(name: $0, shape: $1.shape) },
                          outputs: outputNames,
                          nodes: [Graph.Node(name: "op", operation: operation, inputs: inputNames, outputs: outputNames)])
    let shapes = Dictionary(uniqueKeysWithValues: zip(inputNames, inputs.map(\.shape)))
    let network = try Network(graph: graph, backend: backend, planningInputShapes: shapes)
    let results = try network.run(Dictionary(uniqueKeysWithValues: zip(inputNames, inputs)))
    return outputNames.map { results[$0]! }
}

/// The op's fast path (oneDNN backend, channels-last kernels) against its reference implementation.
func fastPathDifference(_ operation: any GraphOperation, inputs: [Tensor], outputCount: Int = 1) throws -> Float {
    let fast = try runSingleOp(operation, inputs: inputs, backend: .oneDNN, outputCount: outputCount)
    let reference = operation.reference(inputs)
    return WorstError.of(zip(fast, reference).map { $0.maxAbsoluteDifference(to: $1) })
}
