/// ONNX `Expand`: broadcast the input to a target shape (NumPy rules; the result takes the larger of
/// each pair of dimensions).
public struct Expand: GraphOperation {
    public var kind: String { "Expand" }
    public let target: [Int]

    public init(target: [Int]) {
        self.target = target
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        guard let shape = Elementwise.broadcastShape(inputShapes[0], target) else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "broadcastable to \(target)", actual: inputShapes[0])
        }
        return [shape]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let shape = Elementwise.broadcastShape(x.shape, target)!
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        StridedWalk.walk(shape: shape, strides: [Elementwise.broadcastStrides(x.shape, to: shape)]) { flat, offsets in
            values[flat] = x.values[offsets[0]]
        }
        return [Tensor(shape: shape, values: values)]
    }
}
