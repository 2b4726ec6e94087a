import Foundation

/// An activation fused into a convolution's epilogue (or applied alone by `ActivationOp`).
public enum Activation: Sendable, Equatable, CustomStringConvertible {
    case none
    case silu
    case relu
    case leakyRelu(alpha: Float)
    case sigmoid
    case hardswish

    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch self {
        case .none: return x
        case .silu: return x / (1 + Foundation.exp(-x))
        case .relu: return max(x, 0)
        case let .leakyRelu(alpha): return x >= 0 ? x : alpha * x
        case .sigmoid: return 1 / (1 + Foundation.exp(-x))
        case .hardswish: return x * min(max(x + 3, 0), 6) / 6
        }
    }

    public var description: String {
        switch self {
        case .none: return "none"
        case .silu: return "SiLU"
        case .relu: return "ReLU"
        case let .leakyRelu(alpha): return "LeakyReLU(\(alpha))"
        case .sigmoid: return "Sigmoid"
        case .hardswish: return "Hardswish"
        }
    }
}
