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
        let strides = Elementwise.broadcastStrides(x.shape, to: shape)
        let count = shape.reduce(1, *)
        var values = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: shape.count)
        for flat in 0..<count {
            var offset = 0
            for axis in 0..<shape.count { offset += index[axis] * strides[axis] }
            values[flat] = x.values[offset]
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                if index[axis] < shape[axis] { break }
                index[axis] = 0
                axis -= 1
            }
        }
        return [Tensor(shape: shape, values: values)]
    }
}
