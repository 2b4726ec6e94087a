/// Max pooling (ONNX `MaxPool`, floor mode). Padding never wins: padded cells count as -infinity.
public struct MaxPool: PoolingWindow {
    public var kind: String { "MaxPool" }
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
        [pool(inputs[0]) { window in window.reduce(-Float.infinity, max) }]
    }
}

/// A pooling op's window: kernel, strides and pads (top, left, bottom, right), floor mode.
public protocol PoolingWindow: GraphOperation {
    var kernel: (height: Int, width: Int) { get }
    var strides: (height: Int, width: Int) { get }
    var pads: [Int] { get }
}

extension PoolingWindow {
    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        ((height + pads[0] + pads[2] - kernel.height) / strides.height + 1,
         (width + pads[1] + pads[3] - kernel.width) / strides.width + 1)
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        let x = inputShapes[0]
        try requireRank(x, 4, node: node)
        let size = outputSize(height: x[2], width: x[3])
        guard size.height > 0, size.width > 0 else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "at least the kernel size", actual: x)
        }
        return [[x[0], x[1], size.height, size.width]]
    }

    /// Each output cell's `reduce` of the input cells under its window (padded cells left out).
    func pool(_ x: Tensor, reduce: ([Float]) -> Float) -> Tensor {
        let (planes, height, width) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        let out = outputSize(height: height, width: width)
        var result = [Float](repeating: 0, count: planes * out.height * out.width)
        var window: [Float] = []
        window.reserveCapacity(kernel.height * kernel.width)
        for plane in 0..<planes {
            for oy in 0..<out.height {
                for ox in 0..<out.width {
                    window.removeAll(keepingCapacity: true)
                    for ky in 0..<kernel.height {
                        let iy = oy * strides.height - pads[0] + ky
                        if iy < 0 || iy >= height { continue }
                        for kx in 0..<kernel.width {
                            let ix = ox * strides.width - pads[1] + kx
                            if ix < 0 || ix >= width { continue }
                            window.append(x.values[(plane * height + iy) * width + ix])
                        }
                    }
                    result[(plane * out.height + oy) * out.width + ox] = reduce(window)
                }
            }
        }
        return Tensor(shape: [x.shape[0], x.shape[1], out.height, out.width], values: result)
    }
}
