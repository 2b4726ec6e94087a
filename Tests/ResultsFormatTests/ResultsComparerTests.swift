import ResultsFormat
import Testing

struct ResultsComparerTests {
    static func file(_ detections: [DetectionResult], failure: String? = nil) -> ResultsFile {
        ResultsFile(images: [ImageResult(file: "a.jpg", detections: failure == nil ? detections : nil, failure: failure)], info: JSONObject())
    }

    @Test func matchesBySameCategoryAndIoU() {
        let a = Self.file([DetectionResult(category: "1", conf: 0.5, bbox: [0.1, 0.1, 0.4, 0.4])])
        let b = Self.file([DetectionResult(category: "1", conf: 0.503, bbox: [0.1002, 0.1, 0.4, 0.4])])
        let report = ResultsComparer.compare(a, b)
        #expect(abs(report.maxConfidenceError.value - 0.003) < 1e-12)
        #expect(abs(report.maxCoordinateError.value - 0.0002) < 1e-12)
        #expect(!report.passes(confidenceTolerance: 0.001, coordinateTolerance: 0.0005))
        #expect(report.passes(confidenceTolerance: 0.003, coordinateTolerance: 0.0005))
    }

    @Test func unmatchedDetectionsCountTheirConfidence() {
        let a = Self.file([DetectionResult(category: "1", conf: 0.7, bbox: [0.1, 0.1, 0.2, 0.2])])
        let b = Self.file([DetectionResult(category: "2", conf: 0.7, bbox: [0.1, 0.1, 0.2, 0.2])])  // other category
        #expect(ResultsComparer.compare(a, b).maxConfidenceError.value == 0.7)
        // At the output threshold, a detection the other side did not write can be float noise.
        let faint = Self.file([DetectionResult(category: "1", conf: 0.005, bbox: [0.1, 0.1, 0.2, 0.2])])
        #expect(ResultsComparer.compare(faint, Self.file([]), unmatchedAllowedUpTo: 0.006).maxConfidenceError.value == 0)
        #expect(ResultsComparer.compare(a, Self.file([]), unmatchedAllowedUpTo: 0.006).maxConfidenceError.value == 0.7)
        #expect(ResultsComparer.compare(a, Self.file([], failure: "image access failure")).failureMismatches == ["a.jpg"])
    }

    /// In a clip's entry the same box in two frames is two detections: each is matched only within its
    /// frame, and different sampled frames are reported.
    @Test func clipDetectionsMatchOnlyWithinTheirFrame() {
        func clip(_ confidences: [(Int, Double)], frames: [Int] = [0, 10]) -> ResultsFile {
            var entry = ImageResult(file: "a.mp4", detections: confidences.map {
                DetectionResult(category: "1", conf: $0.1, bbox: [0.1, 0.1, 0.4, 0.4], frameNumber: $0.0)
            })
            entry.frameRate = 30
            entry.framesProcessed = frames
            return ResultsFile(images: [entry], info: JSONObject())
        }
        let ours = clip([(0, 0.9), (10, 0.2)]), same = clip([(10, 0.2), (0, 0.9)])
        #expect(ResultsComparer.compare(ours, same).maxConfidenceError.value == 0)
        // Frame 10's box alone on the other side: frame 0's 0.9 is unmatched (not matched to frame 10's 0.2).
        let report = ResultsComparer.compare(ours, clip([(10, 0.2)]))
        #expect(report.maxConfidenceError.value == 0.9)
        #expect(ResultsComparer.compare(ours, clip([(0, 0.9), (10, 0.2)], frames: [0, 10, 20])).frameMismatches == ["a.mp4"])
        #expect(!ResultsComparer.compare(ours, clip([(0, 0.9), (10, 0.2)], frames: [0, 10, 20])).passes(confidenceTolerance: 1, coordinateTolerance: 1))
    }

    @Test func intersectionOverUnion() {
        #expect(ResultsComparer.iou([0, 0, 1, 1], [0, 0, 1, 1]) == 1)
        #expect(abs(ResultsComparer.iou([0, 0, 2, 1], [1, 0, 2, 1]) - 1.0 / 3.0) < 1e-12)
        #expect(ResultsComparer.iou([0, 0, 1, 1], [2, 2, 1, 1]) == 0)
    }

    /// NaN in either file is the worst error, never skipped: an all-NaN output must fail.
    @Test func nanIsTheWorstError() {
        let good = Self.file([DetectionResult(category: "1", conf: 0.5, bbox: [0.1, 0.1, 0.4, 0.4])])
        let nanConfidence = Self.file([DetectionResult(category: "1", conf: .nan, bbox: [0.1, 0.1, 0.4, 0.4])])
        let nanBox = Self.file([DetectionResult(category: "1", conf: 0.5, bbox: [0.1, 0.1, 0.4, .nan])])
        let shortBox = Self.file([DetectionResult(category: "1", conf: 0.5, bbox: [0.1, 0.1, 0.4])])
        for other in [nanConfidence, nanBox, shortBox] {
            let report = ResultsComparer.compare(good, other)
            #expect(!report.passes(confidenceTolerance: 0.1, coordinateTolerance: 0.1), "\(other.images[0].detections ?? [])")
        }
        #expect(ResultsComparer.compare(good, good).passes(confidenceTolerance: 0.1, coordinateTolerance: 0.1))
        #expect(ResultsComparer.compare(good, nanConfidence).maxConfidenceError.value.isNaN)
    }
}
