/// TensorFlow's `CropAndResize` (bilinear, extrapolation value 0) for one image: each box
/// `[y1, x1, y2, x2]` in normalised coordinates is sampled on a crop grid with TF's own arithmetic
/// (`y = y1 * (H - 1) + i * (y2 - y1) * (H - 1) / (cropHeight - 1)`, in float32), and sample rows or
/// columns that fall outside the image are the extrapolation value.
///
/// Inputs: the image [1, C, H, W] and the boxes [N, 4]; output [N, C, cropHeight, cropWidth].
public struct CropAndResize: GraphOperation {
    public var kind: String { "CropAndResize" }
    public let cropHeight: Int
    public let cropWidth: Int
    public let extrapolationValue: Float

    public init(cropHeight: Int, cropWidth: Int, extrapolationValue: Float = 0) {
        self.cropHeight = cropHeight
        self.cropWidth = cropWidth
        self.extrapolationValue = extrapolationValue
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, 2, node: node)
        let (image, boxes) = (inputShapes[0], inputShapes[1])
        try requireRank(image, 4, node: node)
        guard image[0] == 1, boxes.count == 2, boxes[1] == 4 else {
            throw EngineError.shapeMismatch(tensor: "\(node) inputs", expected: "[1, C, H, W] and [N, 4]", actual: image + boxes)
        }
        return [[boxes[0], image[1], cropHeight, cropWidth]]
    }

    /// Sample positions along one axis: (position in the input, or nil outside it).
    func samples(start: Float, end: Float, size: Int, count: Int) -> [Float?] {
        let extent = Float(size - 1)
        let scale = count > 1 ? (end - start) * extent / Float(count - 1) : 0
        return (0..<count).map { index in
            let position = count > 1 ? start * extent + Float(index) * scale : 0.5 * (start + end) * extent
            return position < 0 || position > extent ? nil : position
        }
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let (image, boxes) = (inputs[0], inputs[1])
        let (channels, height, width) = (image.shape[1], image.shape[2], image.shape[3])
        let count = boxes.shape[0]
        var result = [Float](repeating: extrapolationValue, count: count * channels * cropHeight * cropWidth)
        for box in 0..<count {
            let b = Array(boxes.values[(box * 4)..<(box * 4 + 4)])
            let rows = samples(start: b[0], end: b[2], size: height, count: cropHeight)
            let columns = samples(start: b[1], end: b[3], size: width, count: cropWidth)
            for (i, row) in rows.enumerated() {
                guard let y = row else { continue }
                let (top, bottom) = (Int(y.rounded(.down)), Int(y.rounded(.up)))
                let yLerp = y - Float(top)
                for (j, column) in columns.enumerated() {
                    guard let x = column else { continue }
                    let (left, right) = (Int(x.rounded(.down)), Int(x.rounded(.up)))
                    let xLerp = x - Float(left)
                    for c in 0..<channels {
                        let plane = c * height * width
                        let topLeft = image.values[plane + top * width + left], topRight = image.values[plane + top * width + right]
                        let bottomLeft = image.values[plane + bottom * width + left], bottomRight = image.values[plane + bottom * width + right]
                        let upper = topLeft + (topRight - topLeft) * xLerp
                        let lower = bottomLeft + (bottomRight - bottomLeft) * xLerp
                        result[((box * channels + c) * cropHeight + i) * cropWidth + j] = upper + (lower - upper) * yLerp
                    }
                }
            }
        }
        return [Tensor(shape: [count, channels, cropHeight, cropWidth], values: result)]
    }
}
