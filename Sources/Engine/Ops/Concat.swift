/// Concatenation along one axis (ONNX `Concat`); the axis is already normalised to be non-negative.
public struct Concat: GraphOperation {
    public var kind: String { "Concat" }
    public let axis: Int

    public init(axis: Int) {
        self.axis = axis
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        guard let first = inputShapes.first else { throw EngineError.invalidGraph("Concat \(node) has no inputs") }
        guard axis < first.count else {
            throw EngineError.invalidGraph("Concat \(node): axis \(axis) out of range for rank \(first.count)")
        }
        var output = first
        output[axis] = 0
        for shape in inputShapes {
            var other = shape
            other[axis] = 0
            guard other == output else {
                throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "\(first) apart from axis \(axis)", actual: shape)
            }
        }
        output[axis] = inputShapes.reduce(0) { $0 + $1[axis] }
        return [output]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        var shape = inputs[0].shape
        shape[axis] = inputs.reduce(0) { $0 + $1.shape[axis] }
        let outer = shape[..<axis].reduce(1, *)
        var values: [Float] = []
        values.reserveCapacity(shape.reduce(1, *))
        for block in 0..<outer {
            for input in inputs {
                let inner = input.shape[axis...].reduce(1, *)
                values.append(contentsOf: input.values[(block * inner)..<((block + 1) * inner)])
            }
        }
        return [Tensor(shape: shape, values: values)]
    }
}
