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
        [pool(inputs[0]) { window in window.isEmpty ? 0 : window.reduce(0, +) / Float(window.count) }]
    }
}
