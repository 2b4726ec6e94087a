/// ONNX `Slice` with constant starts/ends/axes/steps (positive steps), clamped as ONNX specifies.
public struct Slice: GraphOperation {
    public var kind: String { "Slice" }
    public let starts: [Int]
    public let ends: [Int]
    public let axes: [Int]
    public let steps: [Int]

    public init(starts: [Int], ends: [Int], axes: [Int], steps: [Int]) {
        self.starts = starts
        self.ends = ends
        self.axes = axes
        self.steps = steps
    }

    /// Per-axis (start, step, count) for an input shape.
    func ranges(for shape: [Int]) -> [(start: Int, step: Int, count: Int)]? {
        var ranges = shape.map { (start: 0, step: 1, count: $0) }
        for (i, rawAxis) in axes.enumerated() {
            let axis = rawAxis < 0 ? rawAxis + shape.count : rawAxis
            guard axis >= 0, axis < shape.count, steps[i] > 0 else { return nil }
            let dim = shape[axis]
            func clamp(_ value: Int) -> Int {
                let resolved = value < 0 ? value + dim : value
                return min(max(resolved, 0), dim)
            }
            let start = clamp(starts[i]), end = clamp(ends[i])
            let count = end > start ? (end - start + steps[i] - 1) / steps[i] : 0
            ranges[axis] = (start, steps[i], count)
        }
        return ranges
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        guard let ranges = ranges(for: inputShapes[0]) else {
            throw EngineError.unsupported(node: node, reason: "Slice axes \(axes) / steps \(steps) do not fit \(inputShapes[0])")
        }
        return [ranges.map(\.count)]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let ranges = ranges(for: x.shape)!
        let shape = ranges.map(\.count)
        let strides = Tensor.strides(of: x.shape)
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        let base = zip(ranges, strides).reduce(0) { $0 + $1.0.start * $1.1 }
        let steps = zip(ranges, strides).map { $0.step * $1 }
        StridedWalk.walk(shape: shape, strides: [steps], bases: [base]) { flat, offsets in values[flat] = x.values[offsets[0]] }
        return [Tensor(shape: shape, values: values)]
    }
}
