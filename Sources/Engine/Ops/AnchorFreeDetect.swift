import Foundation

/// The decode of ultralytics' anchor-free `Detect` head (YOLOv8, YOLO11; inference mode), applied to
/// the raw outputs of its per-level box and class branches. Inputs, in order: for each level, the box
/// logits [N, 4 * bins, H, W] then the class logits [N, classes, H, W]. For level i, cell (y, x):
///     distances d_s = sum_b softmax_b(box_s) * binWeights[b]   (DFL; s = left, top, right, bottom)
///     x1 = (x + 0.5) - d_l, y1 = (y + 0.5) - d_t, x2 = (x + 0.5) + d_r, y2 = (y + 0.5) + d_b
///     cx = (x1 + x2) / 2 * stride_i, cy likewise, w = (x2 - x1) * stride_i, h likewise
///     scores = sigmoid(class logits)
/// With one bin (no DFL) the box logits are the distances. End-to-end heads write x1, y1, x2, y2
/// times the stride instead (`corners`). Output [N, 4 + classes, anchors], anchors
/// ordered level, y, x, as ultralytics returns it.
public struct AnchorFreeDetect: GraphOperation {
    public var kind: String { "AnchorFreeDetect" }
    public let classCount: Int
    public let strides: [Float]
    /// The DFL convolution's weights (0, 1, ..., bins - 1 in every released model), read from the file.
    public let binWeights: [Float]

    /// End-to-end heads (YOLOv10, YOLO26) decode to corners: x1, y1, x2, y2 (times the stride).
    public let corners: Bool

    public init(classCount: Int, strides: [Float], binWeights: [Float], corners: Bool = false) {
        self.classCount = classCount
        self.strides = strides
        self.binWeights = binWeights
        self.corners = corners
    }

    public var bins: Int { binWeights.count }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 2 * strides.count, node: node)
        var anchors = 0
        for level in 0..<strides.count {
            let (box, scores) = (inputShapes[2 * level], inputShapes[2 * level + 1])
            try requireRank(box, 4, node: node)
            try requireRank(scores, 4, node: node)
            guard box[1] == 4 * bins, scores[1] == classCount, box[0] == inputShapes[0][0], scores[0] == box[0],
                  box[2] == scores[2], box[3] == scores[3] else {
                throw EngineError.shapeMismatch(tensor: "\(node) level \(level)", expected: "\(4 * bins) box and \(classCount) class channels of one size",
                                                actual: box + scores)
            }
            anchors += box[2] * box[3]
        }
        return [[inputShapes[0][0], 4 + classCount, anchors]]
    }

    /// Decodes one anchor. `box(c)` and `score(c)` read channel c of the level's two inputs at this cell.
    @inline(__always)
    func decode(level: Int, x: Int, y: Int, box: (Int) -> Float, score: (Int) -> Float, write: (Int, Float) -> Void) {
        var distances: (Float, Float, Float, Float) = (0, 0, 0, 0)
        for side in 0..<4 {
            var distance: Float
            if bins == 1 {
                distance = box(side)
            } else {
                var largest = -Float.infinity
                for b in 0..<bins { largest = max(largest, box(side * bins + b)) }
                // As PyTorch: probabilities first (exp / sum), then their weighted sum (the DFL conv).
                var sum: Float = 0
                for b in 0..<bins { sum += Foundation.exp(box(side * bins + b) - largest) }
                distance = 0
                for b in 0..<bins { distance += Foundation.exp(box(side * bins + b) - largest) / sum * binWeights[b] }
            }
            switch side {
            case 0: distances.0 = distance
            case 1: distances.1 = distance
            case 2: distances.2 = distance
            default: distances.3 = distance
            }
        }
        let (ax, ay) = (Float(x) + 0.5, Float(y) + 0.5)
        let (x1, y1, x2, y2) = (ax - distances.0, ay - distances.1, ax + distances.2, ay + distances.3)
        let stride = strides[level]
        if corners {
            write(0, x1 * stride)
            write(1, y1 * stride)
            write(2, x2 * stride)
            write(3, y2 * stride)
        } else {
            write(0, (x1 + x2) / 2 * stride)
            write(1, (y1 + y2) / 2 * stride)
            write(2, (x2 - x1) * stride)
            write(3, (y2 - y1) * stride)
        }
        for c in 0..<classCount { write(4 + c, 1 / (1 + Foundation.exp(-score(c)))) }
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let shape = try! outputShapes(for: inputs.map(\.shape), node: "reference")[0]
        let (batch, rows, anchors) = (shape[0], shape[1], shape[2])
        var values = [Float](repeating: 0, count: shape.reduce(1, *))
        values.withUnsafeMutableBufferPointer { output in
            for n in 0..<batch {
                var anchor = 0
                for level in 0..<strides.count {
                    let (box, scores) = (inputs[2 * level], inputs[2 * level + 1])
                    let (height, width) = (box.shape[2], box.shape[3])
                    let plane = height * width
                    for y in 0..<height {
                        for x in 0..<width {
                            let cell = y * width + x
                            decode(level: level, x: x, y: y,
                                   box: { box.values[(n * 4 * bins + $0) * plane + cell] },
                                   score: { scores.values[(n * classCount + $0) * plane + cell] },
                                   write: { output[(n * rows + $0) * anchors + anchor] = $1 })
                            anchor += 1
                        }
                    }
                }
            }
        }
        return [Tensor(shape: shape, values: values)]
    }
}
