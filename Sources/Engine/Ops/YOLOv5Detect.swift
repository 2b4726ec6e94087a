import Foundation

/// YOLOv5's `Detect` decode (inference mode), applied to the raw outputs of its per-level 1x1
/// convolutions. For level i, anchor a, cell (y, x), with s = sigmoid(t):
///     cx = (2 s0 + (x - 0.5)) * stride_i,  cy = (2 s1 + (y - 0.5)) * stride_i
///     w  = (2 s2)^2 * anchor_w,            h  = (2 s3)^2 * anchor_h       (anchors in pixels)
///     objectness and class scores = s4, s5...
/// Output [N, rows, 5 + classes]; rows ordered level, anchor, y, x as in PyTorch.
public struct YOLOv5Detect: GraphOperation {
    public var kind: String { "YOLOv5Detect" }
    public let classCount: Int
    public let strides: [Float]
    /// anchorsInPixels[level][anchor] = (width, height), computed in float32 as PyTorch does
    /// (`anchors[i] * stride[i]`).
    public let anchorsInPixels: [[(width: Float, height: Float)]]

    public init(classCount: Int, strides: [Float], anchorsInPixels: [[(width: Float, height: Float)]]) {
        self.classCount = classCount
        self.strides = strides
        self.anchorsInPixels = anchorsInPixels
    }

    public var outputsPerAnchor: Int { classCount + 5 }
    public var anchorCount: Int { anchorsInPixels.first?.count ?? 0 }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, strides.count, node: node)
        var rows = 0
        for shape in inputShapes {
            try requireRank(shape, 4, node: node)
            guard shape[1] == anchorCount * outputsPerAnchor, shape[0] == inputShapes[0][0] else {
                throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "\(anchorCount * outputsPerAnchor) channels", actual: shape)
            }
            rows += anchorCount * shape[2] * shape[3]
        }
        return [[inputShapes[0][0], rows, outputsPerAnchor]]
    }

    /// Decodes one prediction vector `raw` (already read from the level tensor) into `out`.
    @inline(__always)
    func decode(level: Int, anchor: Int, x: Int, y: Int, read: (Int) -> Float, into out: UnsafeMutablePointer<Float>) {
        let stride = strides[level]
        let sigmoid = { (v: Float) -> Float in 1 / (1 + Foundation.exp(-v)) }
        let sx = sigmoid(read(0)), sy = sigmoid(read(1)), sw = sigmoid(read(2)), sh = sigmoid(read(3))
        out[0] = (sx * 2 + (Float(x) - 0.5)) * stride
        out[1] = (sy * 2 + (Float(y) - 0.5)) * stride
        let w2 = sw * 2, h2 = sh * 2
        out[2] = (w2 * w2) * anchorsInPixels[level][anchor].width
        out[3] = (h2 * h2) * anchorsInPixels[level][anchor].height
        for k in 4..<outputsPerAnchor { out[k] = sigmoid(read(k)) }
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let batch = inputs[0].shape[0]
        let shape = try! outputShapes(for: inputs.map(\.shape), node: "reference")[0]
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        let no = outputsPerAnchor
        values.withUnsafeMutableBufferPointer { output in
            for n in 0..<batch {
                var row = n * shape[1]
                for (level, input) in inputs.enumerated() {
                    let (ny, nx) = (input.shape[2], input.shape[3])
                    let channels = input.shape[1]
                    for anchor in 0..<anchorCount {
                        for y in 0..<ny {
                            for x in 0..<nx {
                                decode(level: level, anchor: anchor, x: x, y: y, read: { k in
                                    input.values[((n * channels + anchor * no + k) * ny + y) * nx + x]
                                }, into: output.baseAddress! + row * no)
                                row += 1
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: shape, values: values)]
    }
}
