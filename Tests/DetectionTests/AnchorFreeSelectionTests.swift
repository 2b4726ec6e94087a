import Detection
import Testing

/// The anchor-free families' NMS (ultralytics' `non_max_suppression`) and the end-to-end heads' top-k,
/// on hand-made outputs [1, 4 + classes, anchors].
struct AnchorFreeSelectionTests {
    /// Rows are coordinates then class scores, one column per anchor.
    static func output(_ anchors: [(box: [Float], scores: [Float])]) -> [Float] {
        let rows = 4 + anchors[0].scores.count
        var values = [Float](repeating: 0, count: rows * anchors.count)
        for (column, anchor) in anchors.enumerated() {
            for (row, value) in (anchor.box + anchor.scores).enumerated() { values[row * anchors.count + column] = value }
        }
        return values
    }

    /// Two overlapping boxes of one class: the weaker goes. The same box in another class stays (the
    /// 7680 px class offset keeps classes apart). A box below the threshold never enters.
    @Test func classAwareSuppression() {
        let values = Self.output([
            (box: [50, 50, 20, 20], scores: [0.9, 0.1]),
            (box: [51, 50, 20, 20], scores: [0.8, 0.1]),
            (box: [50, 50, 20, 20], scores: [0.1, 0.7]),
            (box: [200, 200, 10, 10], scores: [0.004, 0.001]),
        ])
        let boxes = values.withUnsafeBufferPointer { AnchorFreeNonMaximumSuppression.run(output: $0, rows: 6, anchors: 4, threshold: 0.005) }
        #expect(boxes.map(\.score) == [0.9, 0.7])
        #expect(boxes.map(\.classIndex) == [0, 1])
        #expect(boxes[0] == PixelBox(x1: 40, y1: 40, x2: 60, y2: 60, score: 0.9, classIndex: 0))
    }

    /// The end-to-end top-k keeps overlapping boxes (no NMS), best (anchor, class) scores first, at most
    /// k = min(300, anchors) of them (3 here, as ultralytics: 0.2 is the fourth best and goes), and drops
    /// those at or below the threshold.
    @Test func endToEndTopKKeepsOverlaps() {
        let values = Self.output([
            (box: [0, 0, 10, 10], scores: [0.3, 0.6]),
            (box: [1, 0, 11, 10], scores: [0.9, 0.2]),
            (box: [5, 5, 6, 6], scores: [0.001, 0.002]),
        ])
        let boxes = values.withUnsafeBufferPointer { EndToEndSelection.run(output: $0, rows: 6, anchors: 3, threshold: 0.005) }
        #expect(boxes.map(\.score) == [0.9, 0.6, 0.3])
        #expect(boxes.map(\.classIndex) == [0, 1, 0])
        #expect(boxes[0] == PixelBox(x1: 1, y1: 0, x2: 11, y2: 10, score: 0.9, classIndex: 0))
        let two = values.withUnsafeBufferPointer { EndToEndSelection.run(output: $0, rows: 6, anchors: 3, threshold: 0.005, maximumDetections: 2) }
        #expect(two.map(\.score) == [0.9, 0.6])
    }
}
