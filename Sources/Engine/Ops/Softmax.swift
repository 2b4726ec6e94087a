import Foundation

/// ONNX `Softmax` (opset 13 semantics: along one axis), as PyTorch computes it: exp(x - max) / sum.
public struct Softmax: GraphOperation {
    public var kind: String { "Softmax" }
    /// Non-negative, already normalised against the input rank.
    public let axis: Int

    public init(axis: Int) {
        self.axis = axis
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        guard axis < inputShapes[0].count else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "rank above \(axis)", actual: inputShapes[0])
        }
        return inputShapes
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let length = x.shape[axis]
        let inner = x.shape[(axis + 1)...].reduce(1, *)
        let outer = x.shape[..<axis].reduce(1, *)
        var values = x.values
        for o in 0..<outer {
            for i in 0..<inner {
                let base = o * length * inner + i
                var largest = -Float.infinity
                for k in 0..<length { largest = max(largest, values[base + k * inner]) }
                var sum: Float = 0
                for k in 0..<length {
                    let e = Foundation.exp(values[base + k * inner] - largest)
                    values[base + k * inner] = e
                    sum += e
                }
                for k in 0..<length { values[base + k * inner] /= sum }
            }
        }
        return [Tensor(shape: x.shape, values: values)]
    }
}
