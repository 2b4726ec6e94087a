import Foundation

/// The second stage's post-processing of MegaDetector v2-v4 (TF Object Detection API Faster R-CNN):
/// per-class boxes decoded against the proposals (in pixels), softmax class scores without the
/// background, per-class greedy NMS, all classes merged by score, clipped to the image (zero-area
/// boxes dropped) and normalised, at most `maxTotal` detections; classes are 1-based as the graph
/// outputs them.
public struct FasterRCNNSecondStage: Sendable {
    public var iouThreshold: Float = 0.6
    public var maxPerClass = 100
    public var maxTotal = 100

    public struct Detection: Sendable, Equatable {
        /// Normalised [ymin, xmin, ymax, xmax].
        public var box: [Float]
        public var score: Float
        public var classId: Int
    }

    public init() {}

    /// `proposals`: the first `count` normalised proposals; `classLogits` [proposals, classes + 1]
    /// (background first) and `boxEncodings` [proposals, classes * 4] rows for every proposal slot.
    public func detections(proposals: [[Float]], count: Int, classLogits: [Float], boxEncodings: [Float], classCount: Int,
                           imageHeight: Int, imageWidth: Int) -> [Detection] {
        let (height, width) = (Float(imageHeight), Float(imageWidth))
        var candidates: [Detection] = []
        for classIndex in 0..<classCount {
            var boxes: [[Float]] = []
            var scores: [Float] = []
            for proposal in 0..<count {
                let p = proposals[proposal]
                let anchor = [p[0] * height, p[1] * width, p[2] * height, p[3] * width]
                let offset = (proposal * classCount + classIndex) * 4
                boxes.append(FasterRCNNProposals.decode(boxEncodings[offset..<(offset + 4)], anchor: anchor))
                let logits = classLogits[(proposal * (classCount + 1))..<((proposal + 1) * (classCount + 1))]
                let top = logits.max() ?? 0
                let exponentials = logits.map { Foundation.exp($0 - top) }
                scores.append(exponentials[classIndex + 1] / exponentials.reduce(0, +))
            }
            for kept in FasterRCNNProposals.suppress(boxes, scores: scores, iouThreshold: iouThreshold, limit: maxPerClass) {
                candidates.append(Detection(box: boxes[kept], score: scores[kept], classId: classIndex + 1))
            }
        }
        // Merged by score (ties keep class order), clipped, empty boxes dropped, then the best `maxTotal`.
        let sorted = candidates.enumerated().sorted { $0.element.score != $1.element.score ? $0.element.score > $1.element.score : $0.offset < $1.offset }
        let (scaleY, scaleX) = (1 / height, 1 / width)
        return Array(sorted.map(\.element).compactMap { detection -> Detection? in
            let clipped = FasterRCNNProposals.clip(detection.box, height: height, width: width)
            guard FasterRCNNProposals.area(clipped) > 0 else { return nil }
            return Detection(box: [clipped[0] * scaleY, clipped[1] * scaleX, clipped[2] * scaleY, clipped[3] * scaleX],
                             score: detection.score, classId: detection.classId)
        }.prefix(maxTotal))
    }
}
