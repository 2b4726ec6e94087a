import Engine

/// Load-time evaluation of ONNX ops that only ever see constants in the graphs we accept (grid and
/// anchor construction in YOLOv5 exports: ConstantOfShape, Equal, Where, Expand, Range on constants).
enum ONNXConstantFolding {
    /// Applies `function` element-wise over NumPy-broadcast inputs.
    static func broadcast(_ inputs: [ONNXTensorProto], _ function: ([Double]) -> Double) throws -> ONNXTensorProto {
        var shape: [Int] = []
        for input in inputs {
            guard let combined = Elementwise.broadcastShape(shape, input.dims) else {
                throw ModelFormatError.malformedONNX("constant shapes \(inputs.map(\.dims)) do not broadcast")
            }
            shape = combined
        }
        let strides = inputs.map { Elementwise.broadcastStrides($0.dims, to: shape) }
        let count = shape.reduce(1, *)
        guard count <= 1 << 26 else { throw ModelFormatError.malformedONNX("constant of \(count) elements is too large") }
        var values = [Double](repeating: 0, count: count)
        let sources = inputs.map(\.values)
        StridedWalk.walk(shape: shape, strides: strides) { flat, offsets in
            values[flat] = function(offsets.indices.map { sources[$0][offsets[$0]] })
        }
        return ONNXTensorProto(name: "", dims: shape, values: values)
    }

    /// The folded value of a node whose inputs are all `constants`, or nil when the op is not one of these.
    static func fold(_ node: ONNXNodeProto, constants: [ONNXTensorProto]) throws -> ONNXTensorProto? {
        switch node.opType {
        case "ConstantOfShape":
            let dims = constants[0].ints
            guard dims.allSatisfy({ $0 >= 0 }), dims.reduce(1, *) <= 1 << 26 else {
                throw ModelFormatError.malformedONNX("ConstantOfShape \(node.name): bad shape \(dims)")
            }
            let fill = node.attributes["value"]?.tensor?.values.first ?? 0
            return ONNXTensorProto(name: "", dims: dims, values: Array(repeating: fill, count: dims.reduce(1, *)))
        case "Equal": return try broadcast(constants) { $0[0] == $0[1] ? 1 : 0 }
        case "Less": return try broadcast(constants) { $0[0] < $0[1] ? 1 : 0 }
        case "Greater": return try broadcast(constants) { $0[0] > $0[1] ? 1 : 0 }
        case "Where": return try broadcast(constants) { $0[0] != 0 ? $0[1] : $0[2] }
        case "Expand":
            let ones = ONNXTensorProto(name: "", dims: constants[1].ints, values: Array(repeating: 1, count: constants[1].ints.reduce(1, *)))
            return try broadcast([constants[0], ones]) { $0[0] }
        case "Range":
            // Grid coordinates in exports with a dynamic input size: constant once the size is bound.
            guard constants.count == 3, let start = constants[0].values.first, let limit = constants[1].values.first,
                  let delta = constants[2].values.first, delta != 0, start.isFinite, limit.isFinite else {
                throw ModelFormatError.malformedONNX("Range \(node.name): needs finite scalar start and limit and a non-zero delta")
            }
            let count = Swift.max(Int(((limit - start) / delta).rounded(.up)), 0)
            guard count <= 1 << 26 else { throw ModelFormatError.malformedONNX("Range \(node.name): \(count) elements is too large") }
            return ONNXTensorProto(name: "", dims: [count], values: (0..<count).map { start + Double($0) * delta })
        default: return nil
        }
    }
}
