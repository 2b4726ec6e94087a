/// The `non_max_suppression` of the ultralytics package, as the reference routes anchor-free outputs
/// to it (`agnostic=False`, `multi_label=False`, max_det 300), step for step in float32:
/// 1. keep anchors whose best class score > threshold; 2. centre/size to corners; 3. score = best
/// class score (first best class); 4. keep score > threshold; 5. at most 30000, by score (PyTorch's
/// argsort, see `TorchArgsort`; yolov9's copy of the function always sorts here); 6. offset
/// each box by class x 7680 (so classes never overlap) and run one torchvision NMS over all of them
/// (stable sort by score, suppress IoU > iouThreshold, computed on the offset boxes); 7. at most 300.
public enum AnchorFreeNonMaximumSuppression {
    static let classOffset: Float = 7680
    static let maximumCandidates = 30000

    /// `output` is [1, 4 + classes, anchors] row-major (one photo). `sortsFirst`: yolov9's variant,
    /// which always orders the candidates with PyTorch's unstable argsort before the NMS (ultralytics'
    /// only when there are more than 30000), so ties keep PyTorch's order (see `TorchArgsort`).
    public static func run(output: UnsafeBufferPointer<Float>, rows: Int, anchors: Int, threshold: Double,
                           iouThreshold: Float = 0.45, maximumDetections: Int = 300, sortsFirst: Bool = false) -> [PixelBox] {
        let limit = Float(threshold)
        let classCount = rows - 4
        guard classCount >= 1, output.count >= rows * anchors else { return [] }
        var candidates: [PixelBox] = []
        for anchor in 0..<anchors {
            var best = output[4 * anchors + anchor], bestClass = 0
            for c in 1..<classCount {
                let score = output[(4 + c) * anchors + anchor]
                if score > best { best = score; bestClass = c }
            }
            guard best > limit else { continue }
            let (cx, cy) = (output[anchor], output[anchors + anchor])
            let (halfWidth, halfHeight) = (output[2 * anchors + anchor] / 2, output[3 * anchors + anchor] / 2)
            candidates.append(PixelBox(x1: cx - halfWidth, y1: cy - halfHeight, x2: cx + halfWidth, y2: cy + halfHeight,
                                       score: best, classIndex: bestClass))
        }
        if candidates.count > maximumCandidates || sortsFirst {
            candidates = TorchArgsort.argsortDescending(candidates.map(\.score)).prefix(maximumCandidates).map { candidates[$0] }
        }
        let offsetBoxes = candidates.map { box in
            let offset = Float(box.classIndex) * classOffset
            return PixelBox(x1: box.x1 + offset, y1: box.y1 + offset, x2: box.x2 + offset, y2: box.y2 + offset,
                            score: box.score, classIndex: box.classIndex)
        }
        return keptIndices(offsetBoxes, iouThreshold: iouThreshold).prefix(maximumDetections).map { candidates[$0] }
    }

    /// Indices sorted by descending score, ties in their original order (torch's stable sort).
    static func stableByScore(_ boxes: [PixelBox]) -> [Int] {
        boxes.indices.sorted { boxes[$0].score != boxes[$1].score ? boxes[$0].score > boxes[$1].score : $0 < $1 }
    }

    /// torchvision.ops.nms: the indices kept, in descending score order.
    static func keptIndices(_ boxes: [PixelBox], iouThreshold: Float) -> [Int] {
        let order = stableByScore(boxes)
        let areas = boxes.map { ($0.x2 - $0.x1) * ($0.y2 - $0.y1) }
        var suppressed = [Bool](repeating: false, count: boxes.count)
        var kept: [Int] = []
        for (position, i) in order.enumerated() where !suppressed[i] {
            kept.append(i)
            let a = boxes[i]
            for j in order[(position + 1)...] where !suppressed[j] {
                let b = boxes[j]
                let w = max(0, min(a.x2, b.x2) - max(a.x1, b.x1))
                let h = max(0, min(a.y2, b.y2) - max(a.y1, b.y1))
                let intersection = w * h
                if intersection / (areas[i] + areas[j] - intersection) > iouThreshold { suppressed[j] = true }
            }
        }
        return kept
    }
}
