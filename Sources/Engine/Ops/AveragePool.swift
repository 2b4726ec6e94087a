/// Average pooling over the cells inside the image only (TensorFlow's `AvgPool` with SAME padding,
/// ONNX `AveragePool` with count_include_pad = 0): padded cells neither add nor count.
public struct AveragePool: PoolingWindow {
    public var kind: String { "AveragePool" }
    public let kernel: (height: Int, width: Int)
    public let strides: (height: Int, width: Int)
    /// top, left, bottom, right
    public let pads: [Int]

    public init(kernel: (Int, Int), strides: (Int, Int), pads: [Int]) {
        precondition(pads.count == 4)
        self.kernel = kernel
        self.strides = strides
        self.pads = pads
    }


    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let out = outputSize(height: height, width: width)
        var result = [Float](repeating: 0, count: planes * out.height * out.width)
        for plane in 0..<planes {
            for oy in 0..<out.height {
                for ox in 0..<out.width {
                    var sum: Float = 0
                    var count = 0
                    for ky in 0..<kernel.height {
                        let iy = oy * strides.height - pads[0] + ky
                        if iy < 0 || iy >= height { continue }
                        for kx in 0..<kernel.width {
                            let ix = ox * strides.width - pads[1] + kx
                            if ix < 0 || ix >= width { continue }
                            sum += x.values[(plane * height + iy) * width + ix]
                            count += 1
                        }
                    }
                    result[(plane * out.height + oy) * out.width + ox] = count > 0 ? sum / Float(count) : 0
                }
            }
        }
        return [Tensor(shape: [x.shape[0], x.shape[1], out.height, out.width], values: result)]
    }
}
