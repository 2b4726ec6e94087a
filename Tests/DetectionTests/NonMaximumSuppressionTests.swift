import Detection
import Testing

struct NonMaximumSuppressionTests {
    /// Rows [cx, cy, w, h, obj, p0, p1]: thresholds are strict, score = p x obj, per-class NMS at
    /// IoU 0.45, output sorted by score.
    @Test func followsTheReferenceSteps() {
        let rows: [Float] = [
            50, 50, 20, 20, 0.9, 0.9, 0.1,    // class 0, score 0.81
            52, 50, 20, 20, 0.8, 0.9, 0.1,    // overlaps the first (IoU 0.82): suppressed
            52, 50, 20, 20, 0.8, 0.1, 0.9,    // same box, class 1, score 0.72: kept (per-class NMS)
            150, 50, 20, 20, 0.5, 0.01, 0.0,  // score 0.005: not above the threshold, dropped
            150, 90, 10, 10, 0.005, 1, 0,     // objectness not above the threshold, dropped
            200, 50, 20, 20, 0.6, 0.5, 0.2,   // class 0, score 0.3, no overlap: kept
        ]
        let kept = rows.withUnsafeBufferPointer { NonMaximumSuppression.run(rows: $0, columns: 7, threshold: 0.005) }
        #expect(kept.map(\.classIndex) == [0, 1, 0])
        #expect(kept.map(\.score) == [0.9 * 0.9, Float(0.9) * Float(0.8), Float(0.5) * Float(0.6)])
        #expect(kept[0].x1 == 40 && kept[0].y2 == 60)
    }

    @Test func boxesMapBackToThePhotoWithTruncation() {
        // 2048x1536 photo letterboxed to 1280x960 (gain 0.625, no padding).
        let box = PixelBox(x1: 100.3, y1: 200.2, x2: 300.6, y2: 400.4, score: 0.91789, classIndex: 1)
        let detections = BoxMapping.detections([box], inputWidth: 1280, inputHeight: 960, imageWidth: 2048, imageHeight: 1536,
                                               threshold: 0.005) { String($0 + 1) }
        #expect(detections.count == 1)
        #expect(detections[0].category == "2")
        #expect(detections[0].conf == 0.917)
        // x1 = round(100.3 / 0.625) = 160, x2 = round(480.96) = 481, y1 = round(320.32) = 320, y2 = round(640.64) = 641
        #expect(detections[0].bbox == [BoxMapping.truncate(160.0 / 2048, digits: 4), BoxMapping.truncate(320.0 / 1536, digits: 4),
                                       BoxMapping.truncate(321.0 / 2048, digits: 4), BoxMapping.truncate(321.0 / 1536, digits: 4)])
    }
}
