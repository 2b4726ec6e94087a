import Foundation
import ResultsFormat

/// Image-level evaluation against ground truth, as the reference's report computes it: an image is
/// positive when any of its labels is not a negative class ("empty"), negative when all are, and left
/// out when its labels are unknown ("unknown", "unlabeled", "ambiguous"); the score is the image's
/// highest detection confidence. Precision/recall follow scikit-learn's `precision_recall_curve`.
public struct PrecisionRecall: Sendable {
    public struct Point: Sendable, Equatable {
        public var threshold: Double
        public var precision: Double
        public var recall: Double

        public init(threshold: Double, precision: Double, recall: Double) {
            (self.threshold, self.precision, self.recall) = (threshold, precision, recall)
        }
    }

    /// Points for each distinct score, highest threshold last (scikit-learn's order, without its
    /// final (precision 1, recall 0) point; like scikit-learn 1.x, thresholds past full recall stay).
    public let points: [Point]
    public let averagePrecision: Double
    public let positives: Int
    public let negatives: Int

    public init(scores: [Double], labels: [Bool]) {
        let pairs = zip(scores, labels).sorted { $0.0 > $1.0 }
        positives = labels.filter { $0 }.count
        negatives = labels.count - positives
        var points: [Point] = []
        var truePositives = 0, falsePositives = 0, index = 0
        while index < pairs.count {
            let threshold = pairs[index].0
            while index < pairs.count, pairs[index].0 == threshold {
                if pairs[index].1 { truePositives += 1 } else { falsePositives += 1 }
                index += 1
            }
            let precision = Double(truePositives) / Double(truePositives + falsePositives)
            let recall = positives > 0 ? Double(truePositives) / Double(positives) : 0
            points.append(Point(threshold: threshold, precision: precision, recall: recall))
        }
        self.points = points.reversed()
        // AP = sum over thresholds (descending) of (R_n - R_{n-1}) * P_n
        var previousRecall = 0.0, sum = 0.0
        for point in points {
            sum += (point.recall - previousRecall) * point.precision
            previousRecall = point.recall
        }
        averagePrecision = sum
    }

    /// The highest threshold whose recall reaches `target`, with its precision (scikit-learn order:
    /// the last index with recall >= target).
    public func atRecall(_ target: Double) -> Point? {
        points.last { $0.recall >= target }
    }

    /// [[TN, FP], [FN, TP]] at a confidence threshold.
    public static func confusion(scores: [Double], labels: [Bool], threshold: Double) -> [[Int]] {
        var matrix = [[0, 0], [0, 0]]
        for (score, label) in zip(scores, labels) { matrix[label ? 1 : 0][score >= threshold ? 1 : 0] += 1 }
        return matrix
    }

    /// The curve as a self-contained SVG (recall on x, precision on y), with the target-recall
    /// point marked.
    public func svg(target: Point?, width: Int = 480, height: Int = 360) -> String {
        let (left, right, top, bottom) = (56.0, 16.0, 16.0, 44.0)
        let plotWidth = Double(width) - left - right, plotHeight = Double(height) - top - bottom
        func x(_ recall: Double) -> Double { left + recall * plotWidth }
        func y(_ precision: Double) -> Double { top + (1 - precision) * plotHeight }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" viewBox=\"0 0 \(width) \(height)\" font-family=\"sans-serif\" font-size=\"12\">\n"
        svg += "<rect x=\"\(left)\" y=\"\(top)\" width=\"\(plotWidth)\" height=\"\(plotHeight)\" fill=\"white\" stroke=\"#444\"/>\n"
        for tick in stride(from: 0.0, through: 1.0, by: 0.2) {
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", x(tick), top, x(tick), top + plotHeight)
            svg += String(format: "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>", left, y(tick), left + plotWidth, y(tick))
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%.1f</text>", x(tick), top + plotHeight + 16, tick)
            svg += String(format: "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.1f</text>\n", left - 6, y(tick) + 4, tick)
        }
        svg += String(format: "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">Recall</text>", left + plotWidth / 2, height - 8)
        svg += String(format: "<text x=\"14\" y=\"%.1f\" text-anchor=\"middle\" transform=\"rotate(-90 14 %.1f)\">Precision</text>\n",
                      top + plotHeight / 2, top + plotHeight / 2)
        // Step curve from high thresholds (low recall) to low thresholds.
        let ordered = points.reversed()
        let path = ordered.map { String(format: "%.1f,%.1f", x($0.recall), y($0.precision)) }.joined(separator: " ")
        svg += "<polyline fill=\"none\" stroke=\"#1e64c8\" stroke-width=\"2\" points=\"\(path)\"/>\n"
        if let target {
            svg += String(format: "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"5\" fill=\"#e0501e\"/>\n", x(target.recall), y(target.precision))
        }
        svg += "</svg>\n"
        return svg
    }
}

/// COCO Camera Traps ground truth: image-level labels by file name.
public struct GroundTruth: Sendable {
    public enum Status: Sendable { case positive, negative, unknown, ambiguous }
    public let statusByFile: [String: Status]
    public let labelsByFile: [String: [String]]

    public static let negativeClasses: Set<String> = ["empty"]
    public static let unknownClasses: Set<String> = ["unknown", "unlabeled", "ambiguous"]

    public init(path: String) throws {
        let document = try ResultsFile.readJSONObject(path: path)
        guard let images = document["images"]?.array, let annotations = document["annotations"]?.array,
              let categories = document["categories"]?.array else {
            throw ResultsFormatError.invalid(path: path, reason: "COCO Camera Traps needs images, annotations and categories")
        }
        var names: [String: String] = [:]
        for category in categories.compactMap(\.object) {
            let id = category["id"].map { value -> String in value.number.map { String(Int($0)) } ?? value.string ?? "" } ?? ""
            names[id] = category["name"]?.string?.lowercased() ?? ""
        }
        var fileById: [String: String] = [:]
        for image in images.compactMap(\.object) {
            guard let file = image["file_name"]?.string, let id = image["id"] else { continue }
            fileById[id.string ?? id.number.map { String(Int($0)) } ?? ""] = file
        }
        var labels: [String: [String]] = [:]
        for annotation in annotations.compactMap(\.object) {
            guard let imageId = annotation["image_id"], let categoryId = annotation["category_id"] else { continue }
            let imageKey = imageId.string ?? imageId.number.map { String(Int($0)) } ?? ""
            let categoryKey = categoryId.string ?? categoryId.number.map { String(Int($0)) } ?? ""
            guard let file = fileById[imageKey] else { continue }
            labels[file, default: []].append(names[categoryKey] ?? categoryKey)
        }
        // The reference's rule: labels of more than one kind (positive, negative, unknown) make an image
        // ambiguous, no labels make it unknown; both are left out of the evaluation.
        var status: [String: Status] = [:]
        for file in fileById.values {
            let these = Set(labels[file] ?? [])
            let unknown = !these.isDisjoint(with: Self.unknownClasses), negative = !these.isDisjoint(with: Self.negativeClasses)
            let positive = !these.subtracting(Self.unknownClasses.union(Self.negativeClasses)).isEmpty
            if these.isEmpty || (unknown && !negative && !positive) {
                status[file] = .unknown
            } else if [unknown, negative, positive].filter({ $0 }).count > 1 {
                status[file] = .ambiguous
            } else {
                status[file] = positive ? .positive : .negative
            }
        }
        statusByFile = status
        labelsByFile = labels
    }
}
