/// One kind of graph node. Ops are named as ONNX names them; each file in Ops/ holds one op with its
/// shape rule and its plain reference implementation (the ground truth for tests and the fallback
/// where no faster backend exists).
public protocol GraphOperation: Sendable {
    /// The ONNX-style operator name, e.g. `Conv`.
    var kind: String { get }
    /// Output shapes for the given input shapes; throws when the inputs do not fit.
    func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]]
    /// Straightforward evaluation on row-major tensors.
    func reference(_ inputs: [Tensor]) -> [Tensor]
}

extension GraphOperation {
    func requireInputCount(_ shapes: [[Int]], _ count: Int, node: String) throws {
        guard shapes.count == count else {
            throw EngineError.invalidGraph("\(kind) node \(node) needs \(count) inputs, has \(shapes.count)")
        }
    }

    func requireRank(_ shape: [Int], _ rank: Int, node: String) throws {
        guard shape.count == rank else {
            throw EngineError.shapeMismatch(tensor: node, expected: "rank \(rank)", actual: shape)
        }
    }
}
