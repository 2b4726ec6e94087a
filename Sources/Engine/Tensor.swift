/// A dense float32 tensor in logical row-major order (NCHW for images), the currency of the reference
/// implementations, of tests and of the public API. The fast executor keeps its own layouts internally.
public struct Tensor: Sendable, Equatable {
    public var shape: [Int]
    public var values: [Float]

    public init(shape: [Int], values: [Float]) {
        precondition(shape.reduce(1, *) == values.count, "tensor shape \(shape) does not match \(values.count) values")
        self.shape = shape
        self.values = values
    }

    public init(zeros shape: [Int]) {
        self.shape = shape
        self.values = [Float](repeating: 0, count: shape.reduce(1, *))
    }

    public var count: Int { values.count }
    public var rank: Int { shape.count }

    /// Row-major strides of `shape`.
    public static func strides(of shape: [Int]) -> [Int] {
        var strides = [Int](repeating: 1, count: shape.count)
        var running = 1
        for axis in stride(from: shape.count - 1, through: 0, by: -1) {
            strides[axis] = running
            running *= shape[axis]
        }
        return strides
    }

    /// Largest absolute difference to `other` (same shape required).
    public func maxAbsoluteDifference(to other: Tensor) -> Float {
        precondition(shape == other.shape, "shapes differ: \(shape) vs \(other.shape)")
        // NaN anywhere is the worst difference (Swift's max would drop it and let NaNs compare equal).
        var worst: Float = 0
        for index in values.indices {
            let difference = abs(values[index] - other.values[index])
            if difference.isNaN { return .nan }
            worst = max(worst, difference)
        }
        return worst
    }
}
