/// The mean of each channel over height and width, [N, C, H, W] -> [N, C, 1, 1], accumulated in double
/// precision. PyTorch's mean (what onnx2torch runs for ONNX's GlobalAveragePool, e.g. SpeciesNet's
/// squeeze-excitation and head) sums float32 cascade-wise, far more precisely than a running float32
/// sum over a large plane; a double sum stays within an ulp of the exact mean. (`AveragePool` keeps
/// TensorFlow's running float32 sum, which MegaDetector v4's fidelity needs.)
public struct GlobalAveragePool: GraphOperation {
    public var kind: String { "GlobalAveragePool" }

    public init() {}

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        try requireRank(inputShapes[0], 4, node: node)
        return [[inputShapes[0][0], inputShapes[0][1], 1, 1]]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let input = inputs[0]
        let (n, c, plane) = (input.shape[0], input.shape[1], input.shape[2] * input.shape[3])
        var values = [Float](repeating: 0, count: n * c)
        input.values.withUnsafeBufferPointer { source in
            for index in 0..<(n * c) {
                var sum = 0.0
                for offset in 0..<plane { sum += Double(source[index * plane + offset]) }
                values[index] = plane > 0 ? Float(sum / Double(plane)) : 0
            }
        }
        return [Tensor(shape: [n, c, 1, 1], values: values)]
    }

    /// The same means from a channels-last [N, H, W, C] buffer (one pass, channel sums in double).
    static func channelsLast(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, inputShape: [Int]) {
        let (n, c, plane) = (inputShape[0], inputShape[1], inputShape[2] * inputShape[3])
        var sums = [Double](repeating: 0, count: c)
        for b in 0..<n {
            for ch in 0..<c { sums[ch] = 0 }
            let input = source + b * plane * c
            for pixel in 0..<plane {
                let row = input + pixel * c
                for ch in 0..<c { sums[ch] += Double(row[ch]) }
            }
            for ch in 0..<c { destination[b * c + ch] = plane > 0 ? Float(sums[ch] / Double(plane)) : 0 }
        }
    }
}
