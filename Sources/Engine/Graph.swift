/// A computation graph with verified structure: nodes in topological order, every input defined
/// before use. Values are referred to by name; names follow the source model (ONNX value names, or
/// `model.<layer>.<part>` for PyTorch checkpoints) so intermediate dumps line up with the original.
public struct Graph: Sendable {
    public struct Input: Sendable, Equatable {
        public var name: String
        /// Logical shape; -1 marks a dimension fixed only at run time (image height and width).
        public var shape: [Int]
        public init(name: String, shape: [Int]) {
            self.name = name
            self.shape = shape
        }
    }

    public struct Node: Sendable {
        public var name: String
        public var operation: any GraphOperation
        public var inputs: [String]
        public var outputs: [String]
        public init(name: String, operation: any GraphOperation, inputs: [String], outputs: [String]) {
            self.name = name
            self.operation = operation
            self.inputs = inputs
            self.outputs = outputs
        }
    }

    public var inputs: [Input]
    public var outputs: [String]
    public var nodes: [Node]
    /// Constant tensors used as node inputs (other than convolution weights, which ops own).
    public var constants: [String: Tensor]

    public init(inputs: [Input], outputs: [String], nodes: [Node], constants: [String: Tensor] = [:]) throws {
        self.inputs = inputs
        self.outputs = outputs
        self.nodes = nodes
        self.constants = constants
        try validate()
    }

    /// Checks that every value is defined once, before use, and that the outputs exist.
    public func validate() throws {
        var defined = Set(inputs.map(\.name)).union(constants.keys)
        for node in nodes {
            for input in node.inputs where !defined.contains(input) {
                throw EngineError.invalidGraph("node \(node.name) reads '\(input)' before it is defined")
            }
            for output in node.outputs {
                guard defined.insert(output).inserted else {
                    throw EngineError.invalidGraph("value '\(output)' is defined twice")
                }
            }
        }
        for output in outputs where !defined.contains(output) {
            throw EngineError.invalidGraph("graph output '\(output)' is never computed")
        }
    }

    /// Shapes of every value for concrete input shapes, checking each node's shape rule.
    public func inferShapes(inputShapes: [String: [Int]]) throws -> [String: [Int]] {
        var shapes: [String: [Int]] = [:]
        for input in inputs {
            guard let shape = inputShapes[input.name] else { throw EngineError.missingInput(name: input.name) }
            guard shape.count == input.shape.count,
                  zip(shape, input.shape).allSatisfy({ $1 < 0 || $0 == $1 }) else {
                throw EngineError.shapeMismatch(tensor: input.name, expected: "\(input.shape)", actual: shape)
            }
            shapes[input.name] = shape
        }
        for (name, tensor) in constants { shapes[name] = tensor.shape }
        for node in nodes {
            let outputs = try node.operation.outputShapes(for: node.inputs.map { shapes[$0]! }, node: node.name)
            guard outputs.count == node.outputs.count else {
                throw EngineError.invalidGraph("node \(node.name) produces \(outputs.count) values, declares \(node.outputs.count)")
            }
            for (name, shape) in zip(node.outputs, outputs) { shapes[name] = shape }
        }
        return shapes
    }
}
