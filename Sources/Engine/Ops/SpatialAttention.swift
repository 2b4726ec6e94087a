import Foundation

/// Multi-head self-attention over the pixels of a feature map, as ultralytics' `Attention` (the C2PSA
/// block of YOLO11) computes it from its fused `qkv` convolution. The input [N, heads * (2 k + d), H, W]
/// holds, per head, k query channels, k key channels and d value channels. Per head, over the H * W
/// positions:  attention = softmax_j((scale * q_i) . k_j),  out_c,i = sum_j v_c,j * attention_i,j.
///
/// Outputs: the attended values [N, heads * d, H, W] and the value channels themselves in the same
/// layout (`v.reshape(B, C, H, W)`, which the block's positional depthwise convolution reads).
public struct SpatialAttention: GraphOperation {
    public var kind: String { "SpatialAttention" }
    public let heads: Int
    public let keyChannels: Int
    public let valueChannels: Int
    /// Multiplies the queries before the dot products (`key_dim ** -0.5`, applied in float32).
    public let scale: Float

    public init(heads: Int, keyChannels: Int, valueChannels: Int, scale: Float) {
        self.heads = heads
        self.keyChannels = keyChannels
        self.valueChannels = valueChannels
        self.scale = scale
    }

    public var channelsPerHead: Int { 2 * keyChannels + valueChannels }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 1, node: node)
        let x = inputShapes[0]
        try requireRank(x, 4, node: node)
        guard x[1] == heads * channelsPerHead else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "\(heads * channelsPerHead) channels", actual: x)
        }
        let output = [x[0], heads * valueChannels, x[2], x[3]]
        return [output, output]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let positions = height * width
        let shape = [batch, heads * valueChannels, height, width]
        var attended = [Float](repeating: 0, count: shape.reduce(1, *))
        var values = [Float](repeating: 0, count: attended.count)
        // Plain pointers in the inner loops: this runs once per photo on up to a few thousand positions.
        let scaledQueries = UnsafeMutablePointer<Float>.allocate(capacity: keyChannels * positions)
        let row = UnsafeMutablePointer<Float>.allocate(capacity: positions)
        defer { scaledQueries.deallocate(); row.deallocate() }
        x.values.withUnsafeBufferPointer { source in
            for n in 0..<batch {
                for head in 0..<heads {
                    let base = (n * heads * channelsPerHead + head * channelsPerHead) * positions
                    let q = source.baseAddress! + base
                    let k = q + keyChannels * positions
                    let v = k + keyChannels * positions
                    let outputBase = (n * heads + head) * valueChannels * positions
                    for i in 0..<(valueChannels * positions) { values[outputBase + i] = v[i] }
                    for i in 0..<(keyChannels * positions) { scaledQueries[i] = q[i] * scale }
                    for i in 0..<positions {
                        // Scores of position i against every position j, then a stable softmax.
                        for j in 0..<positions { row[j] = 0 }
                        for c in 0..<keyChannels {
                            let query = scaledQueries[c * positions + i]
                            let keys = k + c * positions
                            for j in 0..<positions { row[j] += query * keys[j] }
                        }
                        var largest = -Float.infinity
                        for j in 0..<positions { largest = max(largest, row[j]) }
                        var sum: Float = 0
                        for j in 0..<positions {
                            row[j] = Foundation.exp(row[j] - largest)
                            sum += row[j]
                        }
                        for j in 0..<positions { row[j] /= sum }
                        for c in 0..<valueChannels {
                            let valueRow = v + c * positions
                            var total: Float = 0
                            for j in 0..<positions { total += valueRow[j] * row[j] }
                            attended[outputBase + c * positions + i] = total
                        }
                    }
                }
            }
        }
        return [Tensor(shape: shape, values: attended), Tensor(shape: shape, values: values)]
    }
}
