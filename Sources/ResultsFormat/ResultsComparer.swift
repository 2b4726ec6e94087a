/// The reference test suite's comparison of two results files: images matched by `file` (a failure
/// must match a failure); each detection matched to the same-category detection with the highest
/// IoU when that IoU >= 0.85; a match's error is |conf difference| and max |bbox difference|; an
/// unmatched detection counts its own confidence as its error. Checked in both directions. In a clip's
/// entry, detections are only matched within their frame, and the sampled frames must be the same.
public struct ResultsComparer {
    public struct Worst: Sendable {
        public var value: Double = 0
        public var file: String = ""
        public var detail: String = ""
    }

    public struct Report: Sendable {
        public var imagesCompared = 0
        public var identicalImages = 0
        public var onlyInFirst: [String] = []
        public var onlyInSecond: [String] = []
        public var failureMismatches: [String] = []
        /// Clips whose `frames_processed` differ.
        public var frameMismatches: [String] = []
        public var maxConfidenceError = Worst()
        public var maxCoordinateError = Worst()
        /// The coordinate error in pixels of the photo, for entries that record their size
        /// (`--include-image-size`); 0 when none does.
        public var maxPixelError = Worst()

        public func passes(confidenceTolerance: Double, coordinateTolerance: Double) -> Bool {
            // Values are decimal-truncated doubles: 0.112 - 0.111 is 0.0010000000000000009.
            onlyInFirst.isEmpty && onlyInSecond.isEmpty && failureMismatches.isEmpty && frameMismatches.isEmpty
                && maxConfidenceError.value <= confidenceTolerance + 1e-9 && maxCoordinateError.value <= coordinateTolerance + 1e-9
        }
    }

    public static let iouThreshold = 0.85

    /// - Parameter unmatchedAllowedUpTo: an unmatched detection with at most this confidence counts
    ///   no error. Both files were cut at an output threshold: a detection within the confidence
    ///   tolerance of it on one side may fall just below it on the other and not be written at all.
    ///   0 (the default, the reference's rule) counts every unmatched detection.
    public static func compare(_ a: ResultsFile, _ b: ResultsFile, unmatchedAllowedUpTo: Double = 0) -> Report {
        var report = Report()
        let first = Dictionary(a.images.map { ($0.file, $0) }, uniquingKeysWith: { x, _ in x })
        let second = Dictionary(b.images.map { ($0.file, $0) }, uniquingKeysWith: { x, _ in x })
        report.onlyInFirst = first.keys.filter { second[$0] == nil }.sorted()
        report.onlyInSecond = second.keys.filter { first[$0] == nil }.sorted()
        for file in first.keys.sorted() {
            guard let x = first[file], let y = second[file] else { continue }
            report.imagesCompared += 1
            if x.json == y.json { report.identicalImages += 1 }
            if (x.failure == nil) != (y.failure == nil) {
                report.failureMismatches.append(file)
                continue
            }
            guard x.failure == nil else { continue }
            if x.framesProcessed != y.framesProcessed { report.frameMismatches.append(file) }
            let dx = x.detections ?? [], dy = y.detections ?? []
            for (from, to) in [(dx, dy), (dy, dx)] {
                for detection in from {
                    var best: DetectionResult?
                    var bestIoU = -1.0
                    for candidate in to where candidate.category == detection.category && candidate.frameNumber == detection.frameNumber {
                        let overlap = iou(detection.bbox, candidate.bbox)
                        if overlap > bestIoU { bestIoU = overlap; best = candidate }
                    }
                    var confidenceError = detection.conf <= unmatchedAllowedUpTo ? 0 : detection.conf, coordinateError = 0.0
                    var pixelError = 0.0
                    var detail = "unmatched \(describe(detection))"
                    if let best, bestIoU >= iouThreshold {
                        confidenceError = abs(detection.conf - best.conf)
                        coordinateError = detection.bbox.count == best.bbox.count
                            ? zip(detection.bbox, best.bbox).reduce(0) { Self.worse($0, abs($1.0 - $1.1)) } : .infinity
                        detail = "\(describe(detection)) vs \(describe(best))"
                        if let width = x.width ?? y.width, let height = x.height ?? y.height, detection.bbox.count == 4, best.bbox.count == 4 {
                            let scales = [Double(width), Double(height), Double(width), Double(height)]
                            pixelError = (0..<4).reduce(0) { Self.worse($0, abs(detection.bbox[$1] - best.bbox[$1]) * scales[$1]) }
                        }
                    }
                    if pixelError.isNaN || pixelError > report.maxPixelError.value {
                        report.maxPixelError = Worst(value: pixelError, file: file, detail: detail)
                    }
                    // A NaN error is the worst (a plain `>` would skip it and let NaN outputs pass).
                    if confidenceError.isNaN || confidenceError > report.maxConfidenceError.value {
                        report.maxConfidenceError = Worst(value: confidenceError, file: file, detail: detail)
                    }
                    if coordinateError.isNaN || coordinateError > report.maxCoordinateError.value {
                        report.maxCoordinateError = Worst(value: coordinateError, file: file, detail: detail)
                    }
                }
            }
        }
        return report
    }

    /// The larger of two errors, NaN when either is NaN.
    static func worse(_ a: Double, _ b: Double) -> Double { a.isNaN || b.isNaN ? .nan : max(a, b) }

    static func describe(_ detection: DetectionResult) -> String {
        "category \(detection.category) conf \(detection.conf) bbox \(detection.bbox)"
    }

    /// IoU of two [x, y, w, h] boxes.
    public static func iou(_ a: [Double], _ b: [Double]) -> Double {
        guard a.count >= 4, b.count >= 4 else { return 0 }
        let x1 = max(a[0], b[0]), y1 = max(a[1], b[1])
        let x2 = min(a[0] + a[2], b[0] + b[2]), y2 = min(a[1] + a[3], b[1] + b[3])
        let intersection = max(0, x2 - x1) * max(0, y2 - y1)
        let union = a[2] * a[3] + b[2] * b[3] - intersection
        // Two zero-area boxes (random test networks produce them) match when they coincide.
        if union <= 0 { return zip(a, b).allSatisfy { abs($0 - $1) < 1e-9 } ? 1 : 0 }
        return intersection / union
    }
}
