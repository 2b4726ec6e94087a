/// What end-to-end (NMS-free) heads output instead of NMS, as ultralytics' `Detect.postprocess` does
/// it (YOLOv10, YOLO26): the k = min(300, anchors) anchors with the highest best-class score, then the
/// k highest (anchor, class) scores among those, in descending order; then, as the reference's
/// `non_max_suppression` treats such `[N, 300, 6]` output, those with score > threshold. Boxes are the
/// head's corners in input pixels. Among exactly equal scores the lower index comes first (torch.topk
/// leaves that order unspecified).
public enum EndToEndSelection {
    /// `output` is [1, 4 + classes, anchors] row-major: x1, y1, x2, y2, class scores.
    public static func run(output: UnsafeBufferPointer<Float>, rows: Int, anchors: Int, threshold: Double,
                           maximumDetections: Int = 300) -> [PixelBox] {
        let classCount = rows - 4
        guard classCount >= 1, anchors >= 1, output.count >= rows * anchors else { return [] }
        let k = min(maximumDetections, anchors)
        func score(_ anchor: Int, _ c: Int) -> Float { output[(4 + c) * anchors + anchor] }
        let best = (0..<anchors).map { anchor in (1..<max(classCount, 1)).reduce(score(anchor, 0)) { max($0, score(anchor, $1)) } }
        let topAnchors = topIndices(best, k)
        var pairs: [Float] = []
        pairs.reserveCapacity(k * classCount)
        for anchor in topAnchors { for c in 0..<classCount { pairs.append(score(anchor, c)) } }
        let limit = Float(threshold)
        return topIndices(pairs, k).compactMap { flat in
            let (anchor, classIndex) = (topAnchors[flat / classCount], flat % classCount)
            let value = pairs[flat]
            guard value > limit else { return nil }
            return PixelBox(x1: output[anchor], y1: output[anchors + anchor], x2: output[2 * anchors + anchor],
                            y2: output[3 * anchors + anchor], score: value, classIndex: classIndex)
        }
    }

    /// The indices of the k largest values, largest first, ties by index.
    static func topIndices(_ values: [Float], _ k: Int) -> [Int] {
        Array(values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }.prefix(k))
    }
}
