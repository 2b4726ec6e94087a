/// A candidate box in input-tensor pixels after NMS: corners, score, class index (0-based).
public struct PixelBox: Equatable, Sendable {
    public var x1: Float, y1: Float, x2: Float, y2: Float
    public var score: Float
    public var classIndex: Int

    public init(x1: Float, y1: Float, x2: Float, y2: Float, score: Float, classIndex: Int) {
        (self.x1, self.y1, self.x2, self.y2, self.score, self.classIndex) = (x1, y1, x2, y2, score, classIndex)
    }
}

/// The reference package's `nms()` (MegaDetector classic mode), step for step, in float32:
/// 1. keep rows with objectness > threshold; 2. centre/size to corners; 3. score = class prob x
/// objectness, first best class; 4. keep score > threshold; 5. per class (ascending), torchvision NMS
/// (stable sort by score, suppress IoU > iouThreshold); 6. merge, stable sort by score, at most 300.
public enum NonMaximumSuppression {
    public static func run(rows: UnsafeBufferPointer<Float>, columns: Int, threshold: Double,
                           iouThreshold: Float = 0.45, maximumDetections: Int = 300) -> [PixelBox] {
        let limit = Float(threshold)
        let classCount = columns - 5
        var candidates: [PixelBox] = []
        let rowCount = rows.count / columns
        for row in 0..<rowCount {
            let base = row * columns
            let objectness = rows[base + 4]
            guard objectness > limit else { continue }
            var best = rows[base + 5] * objectness, bestClass = 0
            for c in 1..<max(classCount, 1) {
                let score = rows[base + 5 + c] * objectness
                if score > best { best = score; bestClass = c }
            }
            guard best > limit else { continue }
            let (cx, cy, w, h) = (rows[base], rows[base + 1], rows[base + 2], rows[base + 3])
            candidates.append(PixelBox(x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2, score: best, classIndex: bestClass))
        }
        var kept: [PixelBox] = []
        for classIndex in Set(candidates.map(\.classIndex)).sorted() {
            kept += suppress(candidates.filter { $0.classIndex == classIndex }, iouThreshold: iouThreshold)
        }
        let ordered = kept.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
        return ordered.prefix(maximumDetections).map(\.element)
    }

    /// torchvision.ops.nms on one class.
    static func suppress(_ boxes: [PixelBox], iouThreshold: Float) -> [PixelBox] {
        AnchorFreeNonMaximumSuppression.keptIndices(boxes, iouThreshold: iouThreshold).map { boxes[$0] }
    }
}
