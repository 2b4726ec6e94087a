import Foundation

/// Binary arithmetic with NumPy broadcasting (ONNX `Add`, `Sub`, `Mul`, `Div`, `Pow`).
public struct Elementwise: GraphOperation {
    public enum Function: String, Sendable {
        case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow"

        @inline(__always)
        public func apply(_ a: Float, _ b: Float) -> Float {
            switch self {
            case .add: return a + b
            case .sub: return a - b
            case .mul: return a * b
            case .div: return a / b
            // PyTorch and onnxruntime compute x ** 2 as x * x; keep that exact.
            case .pow: return b == 2 ? a * a : Foundation.pow(a, b)
            }
        }
    }

    public let function: Function
    public var kind: String { function.rawValue }

    public init(_ function: Function) {
        self.function = function
    }

    public static func broadcastShape(_ a: [Int], _ b: [Int]) -> [Int]? {
        let rank = max(a.count, b.count)
        let paddedA = [Int](repeating: 1, count: rank - a.count) + a
        let paddedB = [Int](repeating: 1, count: rank - b.count) + b
        var result: [Int] = []
        for (x, y) in zip(paddedA, paddedB) {
            if x == y || y == 1 { result.append(x) } else if x == 1 { result.append(y) } else { return nil }
        }
        return result
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 2, node: node)
        guard let shape = Self.broadcastShape(inputShapes[0], inputShapes[1]) else {
            throw EngineError.shapeMismatch(tensor: "\(node) inputs", expected: "broadcastable to \(inputShapes[0])", actual: inputShapes[1])
        }
        return [shape]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let (a, b) = (inputs[0], inputs[1])
        let shape = Self.broadcastShape(a.shape, b.shape)!
        let stridesA = Self.broadcastStrides(a.shape, to: shape)
        let stridesB = Self.broadcastStrides(b.shape, to: shape)
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        StridedWalk.walk(shape: shape, strides: [stridesA, stridesB]) { flat, offsets in
            values[flat] = function.apply(a.values[offsets[0]], b.values[offsets[1]])
        }
        return [Tensor(shape: shape, values: values)]
    }

    /// Strides for reading `shape` as if broadcast to `target` (0 along broadcast axes).
    public static func broadcastStrides(_ shape: [Int], to target: [Int]) -> [Int] {
        let padded = [Int](repeating: 1, count: target.count - shape.count) + shape
        let strides = Tensor.strides(of: padded)
        return zip(padded, strides).map { $0 == 1 ? 0 : $1 }
    }
}
