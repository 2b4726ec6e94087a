/// ONNX `Split` into consecutive pieces of the given sizes along one axis.
public struct Split: GraphOperation {
    public var kind: String { "Split" }
    public let axis: Int
    public let sizes: [Int]

    public init(axis: Int, sizes: [Int]) {
        self.axis = axis
        self.sizes = sizes
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        let x = inputShapes[0]
        guard axis < x.count, sizes.reduce(0, +) == x[axis] else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "axis \(axis) of size \(sizes.reduce(0, +))", actual: x)
        }
        return sizes.map { size in
            var shape = x
            shape[axis] = size
            return shape
        }
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        var start = 0
        return sizes.map { size in
            defer { start += size }
            return Slice(starts: [start], ends: [start + size], axes: [axis], steps: [1]).reference(inputs)[0]
        }
    }
}
