/// ONNX `MatMul` for inputs of rank 2 or more: [..., M, K] x [..., K, N] -> [..., M, N], the leading
/// dimensions broadcast as NumPy does (what attention blocks of exported detectors use).
public struct MatMul: GraphOperation {
    public var kind: String { "MatMul" }

    public init() {}

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 2, node: node)
        let (a, b) = (inputShapes[0], inputShapes[1])
        guard a.count >= 2, b.count >= 2, a[a.count - 1] == b[b.count - 2],
              let batch = Elementwise.broadcastShape(Array(a.dropLast(2)), Array(b.dropLast(2))) else {
            throw EngineError.shapeMismatch(tensor: "\(node) inputs", expected: "[..., M, K] x [..., K, N]", actual: a + [-1] + b)
        }
        return [batch + [a[a.count - 2], b[b.count - 1]]]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let (a, b) = (inputs[0], inputs[1])
        let shape = try! outputShapes(for: [a.shape, b.shape], node: "reference")[0]
        let batchShape = Array(shape.dropLast(2))
        let (m, k, n) = (a.shape[a.shape.count - 2], a.shape[a.shape.count - 1], b.shape[b.shape.count - 1])
        let stridesA = Elementwise.broadcastStrides(Array(a.shape.dropLast(2)), to: batchShape)
        let stridesB = Elementwise.broadcastStrides(Array(b.shape.dropLast(2)), to: batchShape)
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        StridedWalk.walk(shape: batchShape, strides: [stridesA, stridesB]) { batchIndex, offsets in
            let (baseA, baseB, baseC) = (offsets[0] * m * k, offsets[1] * k * n, batchIndex * m * n)
            for row in 0..<m {
                for inner in 0..<k {
                    let left = a.values[baseA + row * k + inner]
                    for column in 0..<n { values[baseC + row * n + column] += left * b.values[baseB + inner * n + column] }
                }
            }
        }
        return [Tensor(shape: shape, values: values)]
    }
}
