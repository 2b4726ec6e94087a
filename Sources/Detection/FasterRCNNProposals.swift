import Foundation

/// The first stage's proposals of MegaDetector v2-v4 (TF Object Detection API Faster R-CNN), with the
/// API's float32 arithmetic: grid anchors (scales x aspect ratios on a stride grid, aspect-ratio major
/// per cell), the Faster R-CNN box coder (scale factors 10, 10, 5, 5), objectness softmax, greedy
/// non-maximum suppression (IoU > threshold suppresses; by score, ties to the lower index), clipping to
/// the image with zero-area boxes dropped, and normalisation by multiplying with 1/height, 1/width.
public struct FasterRCNNProposals: Sendable {
    public var scales: [Float] = [0.25, 0.5, 1.0, 2.0]
    public var aspectRatios: [Float] = [0.5, 1.0, 2.0]
    public var baseSize: Float = 256
    public var stride: Float = 8
    public var iouThreshold: Float = 0.7
    public var maxProposals = 300

    public init() {}

    public var anchorsPerCell: Int { scales.count * aspectRatios.count }

    /// Anchors [ymin, xmin, ymax, xmax] in pixels, row by row, cell by cell, anchor by anchor.
    public func anchors(gridHeight: Int, gridWidth: Int) -> [[Float]] {
        // meshgrid(scales, aspect ratios): aspect ratio major, scale minor.
        var sizes: [(height: Float, width: Float)] = []
        for ratio in aspectRatios {
            let root = ratio.squareRoot()
            for scale in scales { sizes.append((scale / root * baseSize, scale * root * baseSize)) }
        }
        var anchors: [[Float]] = []
        anchors.reserveCapacity(gridHeight * gridWidth * sizes.count)
        for row in 0..<gridHeight {
            let y = Float(row) * stride
            for column in 0..<gridWidth {
                let x = Float(column) * stride
                for size in sizes {
                    anchors.append([y - 0.5 * size.height, x - 0.5 * size.width, y + 0.5 * size.height, x + 0.5 * size.width])
                }
            }
        }
        return anchors
    }

    /// The Faster R-CNN box coder's decode (scale factors 10, 10, 5, 5) of `code` against `anchor`.
    static func decode(_ code: ArraySlice<Float>, anchor a: [Float]) -> [Float] {
        let c = Array(code)
        let (ha, wa) = (a[2] - a[0], a[3] - a[1])
        let (ya, xa) = (a[0] + ha / 2, a[1] + wa / 2)
        let (ty, tx, th, tw) = (c[0] / 10, c[1] / 10, c[2] / 5, c[3] / 5)
        let w = Foundation.exp(tw) * wa, h = Foundation.exp(th) * ha
        let yc = ty * ha + ya, xc = tx * wa + xa
        return [yc - h / 2, xc - w / 2, yc + h / 2, xc + w / 2]
    }

    static func clip(_ box: [Float], height: Float, width: Float) -> [Float] {
        [min(max(box[0], 0), height), min(max(box[1], 0), width), min(max(box[2], 0), height), min(max(box[3], 0), width)]
    }

    static func area(_ box: [Float]) -> Float { (box[2] - box[0]) * (box[3] - box[1]) }

    /// TensorFlow's NMS overlap: corners sorted per axis, 0 for an empty box.
    static func intersectionOverUnion(_ a: [Float], _ b: [Float]) -> Float {
        let (aymin, axmin, aymax, axmax) = (min(a[0], a[2]), min(a[1], a[3]), max(a[0], a[2]), max(a[1], a[3]))
        let (bymin, bxmin, bymax, bxmax) = (min(b[0], b[2]), min(b[1], b[3]), max(b[0], b[2]), max(b[1], b[3]))
        let areaA = (aymax - aymin) * (axmax - axmin), areaB = (bymax - bymin) * (bxmax - bxmin)
        if areaA <= 0 || areaB <= 0 { return 0 }
        let intersection = max(min(aymax, bymax) - max(aymin, bymin), 0) * max(min(axmax, bxmax) - max(axmin, bxmin), 0)
        return intersection / (areaA + areaB - intersection)
    }

    /// Greedy NMS as TensorFlow's NonMaxSuppressionV2-V5 (hard NMS): candidates scoring above
    /// `scoreThreshold` (V3 and later; nil for V2, which has none) by score, ties to the lower index; a
    /// candidate overlapping a kept box by more than `iouThreshold` is dropped. Indices kept, best first.
    public static func suppress(_ boxes: [[Float]], scores: [Float], iouThreshold: Float, limit: Int, scoreThreshold: Float? = 0) -> [Int] {
        let candidates = scores.indices.filter { index in scoreThreshold.map { scores[index] > $0 } ?? true }
        let order = candidates.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        var kept: [Int] = []
        for candidate in order {
            if kept.count >= limit { break }
            if kept.allSatisfy({ intersectionOverUnion(boxes[candidate], boxes[$0]) <= iouThreshold }) { kept.append(candidate) }
        }
        return kept
    }

    /// Normalised proposals [ymin, xmin, ymax, xmax], best first, padded with zero boxes to
    /// `maxProposals`. `boxEncodings` is the RPN's [gridHeight, gridWidth, anchorsPerCell * 4] output,
    /// `objectnessLogits` its [gridHeight, gridWidth, anchorsPerCell * 2] (background, object) logits,
    /// for a preprocessed image of `imageHeight` x `imageWidth`.
    public func proposals(boxEncodings: [Float], objectnessLogits: [Float], gridHeight: Int, gridWidth: Int,
                          imageHeight: Int, imageWidth: Int) -> (boxes: [[Float]], count: Int) {
        let anchors = anchors(gridHeight: gridHeight, gridWidth: gridWidth)
        let (height, width) = (Float(imageHeight), Float(imageWidth))
        var decoded: [[Float]] = []
        var scores: [Float] = []
        decoded.reserveCapacity(anchors.count)
        for (index, anchor) in anchors.enumerated() {
            // Anchors are clipped to the image before decoding (none vanishes: their centres lie inside).
            decoded.append(Self.decode(boxEncodings[(index * 4)..<(index * 4 + 4)], anchor: Self.clip(anchor, height: height, width: width)))
            let (background, object) = (objectnessLogits[index * 2], objectnessLogits[index * 2 + 1])
            let top = max(background, object)
            let (eb, eo) = (Foundation.exp(background - top), Foundation.exp(object - top))
            scores.append(eo / (eb + eo))
        }
        let kept = Self.suppress(decoded, scores: scores, iouThreshold: iouThreshold, limit: maxProposals)
        var boxes = kept.map { Self.clip(decoded[$0], height: height, width: width) }.filter { Self.area($0) > 0 }
        boxes = Array(boxes.prefix(maxProposals))
        let count = boxes.count
        let (scaleY, scaleX) = (1 / height, 1 / width)
        boxes = boxes.map { [$0[0] * scaleY, $0[1] * scaleX, $0[2] * scaleY, $0[3] * scaleX] }
        boxes += Array(repeating: [0, 0, 0, 0], count: maxProposals - count)
        return (boxes, count)
    }
}
