/// Nearest-neighbour upsampling by whole factors (ONNX `Resize` with mode `nearest`, asymmetric
/// coordinates and floor rounding; PyTorch `nn.Upsample(mode='nearest')`): out[y, x] = in[y / s, x / s].
public struct Resize: GraphOperation {
    public var kind: String { "Resize" }
    public let scale: (height: Int, width: Int)

    public init(scale: (Int, Int)) {
        precondition(scale.0 >= 1 && scale.1 >= 1)
        self.scale = scale
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        let x = inputShapes[0]
        try requireRank(x, 4, node: node)
        return [[x[0], x[1], x[2] * scale.height, x[3] * scale.width]]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let (outH, outW) = (height * scale.height, width * scale.width)
        var result = [Float](repeating: 0, count: planes * outH * outW)
        for plane in 0..<planes {
            for oy in 0..<outH {
                for ox in 0..<outW {
                    result[(plane * outH + oy) * outW + ox] =
                        x.values[(plane * height + oy / scale.height) * width + ox / scale.width]
                }
            }
        }
        return [Tensor(shape: [x.shape[0], x.shape[1], outH, outW], values: result)]
    }
}
