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
        #expect(ResultsComparer.compare(a, Self.file([], failure: "image access failure")).failureMismatches == ["a.jpg"])
    }

    @Test func intersectionOverUnion() {
        #expect(ResultsComparer.iou([0, 0, 1, 1], [0, 0, 1, 1]) == 1)
        #expect(abs(ResultsComparer.iou([0, 0, 2, 1], [1, 0, 2, 1]) - 1.0 / 3.0) < 1e-12)
        #expect(ResultsComparer.iou([0, 0, 1, 1], [2, 2, 1, 1]) == 0)
    }
}
