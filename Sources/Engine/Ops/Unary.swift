import Foundation

/// Element-by-element functions (ONNX `Sigmoid`, `Relu`, `Exp`, `Identity`, ...), expressed as an
/// `Activation` where one exists.
public struct Unary: GraphOperation {
    public enum Function: Sendable, Equatable {
        case activation(Activation)
        case exp
        /// min(max(x, 0), 6) (TensorFlow's `Relu6`).
        case relu6
    }

    public let function: Function

    public init(_ function: Function) {
        self.function = function
    }

    public var kind: String {
        switch function {
        case .activation(.sigmoid): return "Sigmoid"
        case .activation(.relu): return "Relu"
        case .activation(.leakyRelu): return "LeakyRelu"
        case .activation(.hardswish): return "HardSwish"
        case .activation(.silu): return "SiLU"
        case .activation(.none): return "Identity"
        case .exp: return "Exp"
        case .relu6: return "Relu6"
        }
    }

    @inline(__always)
    public func apply(_ x: Float) -> Float {
        switch function {
        case let .activation(activation): return activation.apply(x)
        case .exp: return Foundation.exp(x)
        case .relu6: return min(max(x, 0), 6)
        }
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        return inputShapes
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        [Tensor(shape: inputs[0].shape, values: inputs[0].values.map(apply))]
    }
}
