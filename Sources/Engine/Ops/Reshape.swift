/// ONNX `Reshape` with a constant target: 0 copies the input dimension, -1 is inferred.
public struct Reshape: GraphOperation {
    public var kind: String { "Reshape" }
    public let target: [Int]

    public init(target: [Int]) {
        self.target = target
    }

    public func resolve(_ input: [Int]) -> [Int]? {
        var shape = target.enumerated().map { index, dim in dim == 0 && index < input.count ? input[index] : dim }
        let total = input.reduce(1, *)
        let inferred = shape.indices.filter { shape[$0] == -1 }
        if inferred.count > 1 { return nil }
        if let axis = inferred.first {
            let known = shape.enumerated().filter { $0.offset != axis }.reduce(1) { $0 * $1.element }
            guard known > 0, total % known == 0 else { return nil }
            shape[axis] = total / known
        }
        return shape.reduce(1, *) == total && shape.allSatisfy({ $0 >= 0 }) ? shape : nil
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        guard let shape = resolve(inputShapes[0]) else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "reshapeable to \(target)", actual: inputShapes[0])
        }
        return [shape]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        [Tensor(shape: resolve(inputs[0].shape)!, values: inputs[0].values)]
    }
}
