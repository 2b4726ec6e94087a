/// Nearest-neighbour resize of `x` [N, C, H, W] to the height and width of a second input (PyTorch's
/// `F.interpolate(x, size=like.shape[2:], mode="nearest")`, as YOLOv9's CBFuse uses it): output cell
/// (y, x) reads source cell (floor(y * H / H'), floor(x * W / W')), clamped, with the scale in float32.
/// The second input is only read for its shape.
public struct NearestResizeLike: GraphOperation {
    public var kind: String { "NearestResizeLike" }

    public init() {}

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 2, node: node)
        try requireRank(inputShapes[0], 4, node: node)
        try requireRank(inputShapes[1], 4, node: node)
        let (x, like) = (inputShapes[0], inputShapes[1])
        return [[x[0], x[1], like[2], like[3]]]
    }

    /// PyTorch's source index for nearest: floor(destination * (input / output)), scale in float32.
    public static func source(_ destination: Int, input: Int, output: Int) -> Int {
        let scale = Float(input) / Float(output)
        return min(Int((Float(destination) * scale).rounded(.down)), input - 1)
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let shape = try! outputShapes(for: inputs.map(\.shape), node: "reference")[0]
        let (planes, height, width) = (shape[0] * shape[1], x.shape[2], x.shape[3])
        let (outHeight, outWidth) = (shape[2], shape[3])
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        for plane in 0..<planes {
            for y in 0..<outHeight {
                let sourceY = Self.source(y, input: height, output: outHeight)
                for column in 0..<outWidth {
                    let sourceX = Self.source(column, input: width, output: outWidth)
                    values[(plane * outHeight + y) * outWidth + column] = x.values[(plane * height + sourceY) * width + sourceX]
                }
            }
        }
        return [Tensor(shape: shape, values: values)]
    }
}
