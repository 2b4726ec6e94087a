/// ONNX `Transpose`: output axis i is input axis perm[i].
public struct Transpose: GraphOperation {
    public var kind: String { "Transpose" }
    public let permutation: [Int]

    public init(permutation: [Int]) {
        self.permutation = permutation
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        let x = inputShapes[0]
        guard permutation.count == x.count, Set(permutation) == Set(0..<x.count) else {
            throw EngineError.invalidGraph("Transpose \(node): permutation \(permutation) does not fit rank \(x.count)")
        }
        return [permutation.map { x[$0] }]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let shape = permutation.map { x.shape[$0] }
        let inputStrides = Tensor.strides(of: x.shape)
        let readStrides = permutation.map { inputStrides[$0] }
        var values = [Float](repeating: 0, count: x.count)
        StridedWalk.walk(shape: shape, strides: [readStrides]) { flat, offsets in values[flat] = x.values[offsets[0]] }
        return [Tensor(shape: shape, values: values)]
    }
}
