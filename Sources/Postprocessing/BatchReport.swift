import Dispatch
import Foundation
import Imaging
import ResultsFormat
import Diagnostics

/// The reference's `postprocess_batch_results` preview: an `index.html` with the number of photos per
/// result class at a threshold — `detections_<categories>` (e.g. `detections_animal_person`),
/// `almost_detections` (between two thresholds, optional), `non_detections`, `failures` — and one page
/// per class with a sample of the photos rendered. With ground truth (COCO Camera Traps) it adds the
/// image-level precision/recall curve (SVG), the confusion matrix, the threshold for a target recall,
/// and true/false positive/negative pages. Only sampled photos are decoded, in parallel.
public enum BatchReport {
    public struct Options: Sendable {
        public var outputFolder: String
        public var imagesFolder: String?
        /// Default: the file's `typical_detection_threshold`.
        public var confidenceThreshold: Double?
        public var almostDetectionThreshold: Double?
        public var numberOfImagesToSample = 500
        public enum SortOrder: String, Sendable, CaseIterable { case filename, confidence, random }
        public var sortOrder: SortOrder = .filename
        public var randomSeed: UInt64 = 0
        public var groundTruthPath: String?
        public var targetRecall = 0.9
        public var imageWidth = 800
        public var workers = ProcessInfo.processInfo.activeProcessorCount
        /// Best classifications below this go to the "unreliable" species page (the reference's 0.5).
        public var classificationConfidenceThreshold = 0.5
        public init(outputFolder: String) { self.outputFolder = outputFolder }
    }

    public struct Summary: Sendable {
        public var threshold: Double
        public var counts: [String: Int]
        public var precisionRecall: PrecisionRecall?
        public var confusion: [[Int]]?
        public var atTargetRecall: PrecisionRecall.Point?
        public var evaluationCounts: [String: Int] = [:]
        public var rendered = 0
    }

    /// The result class of one photo.
    public static func resultClass(_ image: ImageResult, threshold: Double, almost: Double?, names: [String: String]) -> String {
        guard image.failure == nil, let detections = image.detections else { return "failures" }
        let positive = Set(detections.filter { $0.conf >= threshold }.map(\.category))
        if !positive.isEmpty {
            return (["detections"] + positive.sorted().map { names[$0] ?? $0 }).joined(separator: "_")
        }
        if let almost, (detections.map(\.conf).max() ?? 0) >= almost { return "almost_detections" }
        return "non_detections"
    }

    public static func run(_ results: ResultsFile, options: Options, log: @escaping @Sendable (String) -> Void = { _ in }) throws -> Summary {
        let fileManager = FileManager.default
        try fileManager.createDirectory(atPath: options.outputFolder, withIntermediateDirectories: true)
        let threshold = options.confidenceThreshold ?? ResultsInput.typicalThreshold(results)
        let names = Dictionary(results.detectionCategories, uniquingKeysWith: { first, _ in first })
        var classOf: [String: String] = [:]
        var counts: [String: Int] = [:]
        for image in results.images {
            let kind = resultClass(image, threshold: threshold, almost: options.almostDetectionThreshold, names: names)
            classOf[image.file] = kind
            counts[kind, default: 0] += 1
        }
        var summary = Summary(threshold: threshold, counts: counts)

        // Evaluation against ground truth (image level).
        var evaluationClassOf: [String: String] = [:]
        var groundTruthLabels: [String: [String]] = [:]
        if let path = options.groundTruthPath {
            let truth = try GroundTruth(path: path)
            var scores: [Double] = [], labels: [Bool] = []
            let matched = results.images.filter { truth.statusByFile[$0.file] != nil }.count
            if matched == 0 { log("Warning: none of the \(results.images.count) results' files is in the ground truth \(path)") }
            for image in results.images where image.failure == nil {
                guard let status = truth.statusByFile[image.file], status == .positive || status == .negative else { continue }
                let score = (image.detections ?? []).map(\.conf).max() ?? 0
                scores.append(score)
                labels.append(status == .positive)
                let predicted = score >= threshold
                evaluationClassOf[image.file] = status == .positive ? (predicted ? "tp" : "fn") : (predicted ? "fp" : "tn")
                groundTruthLabels[image.file] = (truth.labelsByFile[image.file] ?? []).sorted()
            }
            let curve = PrecisionRecall(scores: scores, labels: labels)
            summary.precisionRecall = curve
            summary.confusion = PrecisionRecall.confusion(scores: scores, labels: labels, threshold: threshold)
            summary.atTargetRecall = curve.atRecall(options.targetRecall)
            for kind in evaluationClassOf.values { summary.evaluationCounts[kind, default: 0] += 1 }
            try AtomicFile.write(Data(curve.svg(target: summary.atTargetRecall).utf8),
                                 to: (options.outputFolder as NSString).appendingPathComponent("precision_recall.svg"))
        }

        // Sample, then render only what is shown.
        var sample = results.images
        var generator = SplitMix(seed: options.randomSeed)
        if sample.count > options.numberOfImagesToSample { sample = Array(sample.shuffled(using: &generator).prefix(options.numberOfImagesToSample)) }
        switch options.sortOrder {
        case .filename: sample.sort { $0.file < $1.file }
        case .confidence: sample.sort { ($0.detections ?? []).map(\.conf).max() ?? -1 > ($1.detections ?? []).map(\.conf).max() ?? -1 }
        case .random: sample.shuffle(using: &generator)
        }
        let imagesFolder = (options.outputFolder as NSString).appendingPathComponent("images")
        try fileManager.createDirectory(atPath: imagesFolder, withIntermediateDirectories: true)
        let speciesNames = results.classificationCategories.map { Dictionary($0, uniquingKeysWith: { first, _ in first }) }
        func makeRenderer(from lowest: Double) -> DetectionRenderer {
            var renderer = DetectionRenderer(threshold: lowest, categories: names)
            renderer.classificationNames = speciesNames
            renderer.classificationThreshold = options.classificationConfidenceThreshold
            return renderer
        }
        // Almost-detections are shown with the boxes that put them there (drawn from the lower threshold).
        let renderer = makeRenderer(from: threshold), almostRenderer = makeRenderer(from: options.almostDetectionThreshold ?? threshold)
        let outcomes = ConcurrentSlots<String>(count: sample.count)
        let jobs = sample, classes = classOf
        DispatchQueue.concurrentPerform(iterations: max(min(options.workers, jobs.count), 1)) { worker in
            var index = worker
            while index < jobs.count {
                let image = jobs[index]
                let chosen = classes[image.file] == "almost_detections" ? almostRenderer : renderer
                if let path = renderOne(image, index: index, renderer: chosen, options: options, folder: imagesFolder, log: log) {
                    outcomes.set(index, path)
                }
                index += max(options.workers, 1)
            }
        }
        summary.rendered = (0..<sample.count).filter { outcomes.get($0) != nil }.count

        // Pages.
        var pagesByClass: [String: [(ImageResult, String?)]] = [:]
        for (index, image) in sample.enumerated() {
            pagesByClass[classOf[image.file] ?? "failures", default: []].append((image, outcomes.get(index)))
            if let evaluation = evaluationClassOf[image.file] { pagesByClass[evaluation, default: []].append((image, outcomes.get(index))) }
            if let speciesNames {
                for page in speciesPages(image, kind: classOf[image.file] ?? "failures", threshold: threshold,
                                         classificationThreshold: options.classificationConfidenceThreshold, names: speciesNames) {
                    pagesByClass[page, default: []].append((image, outcomes.get(index)))
                }
            }
        }
        let speciesPageNames = pagesByClass.keys.filter { $0.hasPrefix("class_") }.sorted()
        for page in speciesPageNames {
            let members = pagesByClass[page] ?? []
            try writeClassPage(page, members, total: members.count, threshold: threshold, folder: options.outputFolder,
                               fileName: speciesPageFile(page))
        }
        let classNames = counts.keys.sorted { order($0) < order($1) || (order($0) == order($1) && $0 < $1) }
        // With ground truth all four evaluation pages exist (the index links each cell, even a 0).
        let evaluationPages = options.groundTruthPath == nil ? [] : ["tp", "fp", "fn", "tn"]
        for kind in classNames + evaluationPages {
            try writeClassPage(kind, pagesByClass[kind] ?? [], total: counts[kind] ?? summary.evaluationCounts[kind] ?? 0,
                               threshold: threshold, folder: options.outputFolder, groundTruth: groundTruthLabels)
        }
        var speciesSection = ""
        if speciesNames != nil {
            speciesSection = speciesIndexSection(pages: pagesByClass.filter { $0.key.hasPrefix("class_") }.mapValues(\.count),
                                                 counts: speciesCounts(results, classificationThreshold: options.classificationConfidenceThreshold),
                                                 results: results, classificationThreshold: options.classificationConfidenceThreshold)
        }
        try writeIndex(summary, classNames: classNames, results: results, options: options, extra: speciesSection)
        return summary
    }

    static func order(_ kind: String) -> Int {
        if kind.hasPrefix("detections") { return 0 }
        return ["almost_detections": 1, "non_detections": 2, "failures": 3][kind] ?? 4
    }

    static func renderOne(_ image: ImageResult, index: Int, renderer: DetectionRenderer, options: Options, folder: String,
                          log: @Sendable (String) -> Void) -> String? {
        let source = image.file.hasPrefix("/") || options.imagesFolder == nil ? image.file : (options.imagesFolder! as NSString).appendingPathComponent(image.file)
        do {
            var (pixels, detections) = try EntryPicture.load(image, path: source)
            if pixels.width > options.imageWidth {
                pixels = LinearResize.resize(pixels, width: options.imageWidth, height: max(1, pixels.height * options.imageWidth / pixels.width))
            }
            renderer.render(detections, on: &pixels)
            let name = String(format: "%06d.jpg", index)
            try pixels.jpegData().write(to: URL(fileURLWithPath: (folder as NSString).appendingPathComponent(name)))
            return "images/" + name
        } catch {
            log("Warning: cannot render \(source): \(ErrorMessage.sentence(for: error))")
            return nil
        }
    }

    static func title(_ kind: String) -> String {
        switch kind {
        case "non_detections": return "Non-detections (empty)"
        case "almost_detections": return "Almost detections"
        case "failures": return "Failures"
        case "tp": return "True positives"
        case "fp": return "False positives"
        case "fn": return "False negatives"
        case "tn": return "True negatives"
        case "class_unreliable": return "Species: unreliable classifications"
        case _ where kind.hasPrefix("class_"): return "Species: " + kind.dropFirst("class_".count)
        default: return "Detections: " + kind.dropFirst("detections_".count).replacingOccurrences(of: "_", with: ", ")
        }
    }

    static let style = "<style>body{font-family:sans-serif;margin:20px}img{max-width:100%}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px}</style>"

    static func writeClassPage(_ kind: String, _ members: [(ImageResult, String?)], total: Int, threshold: Double, folder: String,
                               groundTruth: [String: [String]] = [:], fileName: String? = nil) throws {
        var html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>\(HTML.escape(title(kind)))</title>\(style)</head><body>\n"
        html += "<h1>\(HTML.escape(title(kind)))</h1>\n<p>\(total) images in all, \(members.count) sampled. <a href=\"index.html\">Back to the summary</a></p>\n"
        for (image, rendered) in members {
            let maximum = (image.detections ?? []).map(\.conf).max() ?? 0
            let labels = groundTruth[image.file].map { ", ground truth: \(HTML.escape($0.joined(separator: ", ")))" } ?? ""
            let caption = "\(HTML.escape(image.file)), max confidence \(String(format: "%.3f", maximum))" + labels
                + (image.failure.map { ", \(HTML.escape($0))" } ?? "")
            if let rendered {
                html += "<figure><img src=\"\(rendered)\" alt=\"\(HTML.escape(image.file))\"><figcaption>\(caption)</figcaption></figure>\n"
            } else {
                html += "<p>\(caption) (not rendered)</p>\n"
            }
        }
        html += "</body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: (folder as NSString).appendingPathComponent((fileName ?? kind) + ".html"))
    }

    static func writeIndex(_ summary: Summary, classNames: [String], results: ResultsFile, options: Options, extra: String = "") throws {
        let total = results.images.count
        var html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Detection results preview</title>\(style)</head><body>\n"
        html += "<h1>Detection results preview</h1>\n"
        html += "<p>\(total) images; detector \(HTML.escape(results.info["detector"]?.string ?? "unknown")); confidence threshold \(summary.threshold)"
        if let almost = options.almostDetectionThreshold { html += "; almost-detection threshold \(almost)" }
        html += ".</p>\n<table><tr><th>Result</th><th>Images</th><th>Share</th></tr>\n"
        for kind in classNames {
            let count = summary.counts[kind] ?? 0
            html += "<tr><td><a href=\"\(kind).html\">\(HTML.escape(title(kind)))</a></td><td>\(count)</td><td>\(String(format: "%.1f%%", 100 * Double(count) / Double(max(total, 1))))</td></tr>\n"
        }
        html += "</table>\n"
        if let curve = summary.precisionRecall, let confusion = summary.confusion {
            html += "<h2>Evaluation against ground truth (image level)</h2>\n"
            html += "<p>\(curve.positives) non-empty and \(curve.negatives) empty images with labels. Average precision \(String(format: "%.3f", curve.averagePrecision)).</p>\n"
            if let target = summary.atTargetRecall {
                html += "<p>Recall \(String(format: "%.1f%%", 100 * options.targetRecall)) is reached at confidence threshold \(String(format: "%.3f", target.threshold)), with precision \(String(format: "%.1f%%", 100 * target.precision)).</p>\n"
            }
            html += "<p><img src=\"precision_recall.svg\" alt=\"precision/recall curve\"></p>\n"
            html += "<h3>Confusion matrix at threshold \(summary.threshold)</h3>\n<table><tr><th></th><th>Predicted empty</th><th>Predicted non-empty</th></tr>\n"
            html += "<tr><th>Empty</th><td><a href=\"tn.html\">\(confusion[0][0])</a></td><td><a href=\"fp.html\">\(confusion[0][1])</a></td></tr>\n"
            html += "<tr><th>Non-empty</th><td><a href=\"fn.html\">\(confusion[1][0])</a></td><td><a href=\"tp.html\">\(confusion[1][1])</a></td></tr></table>\n"
            let (tp, fp, fn) = (Double(confusion[1][1]), Double(confusion[0][1]), Double(confusion[1][0]))
            html += String(format: "<p>Precision %.1f%%, recall %.1f%% at this threshold.</p>\n", tp + fp > 0 ? 100 * tp / (tp + fp) : 0, tp + fn > 0 ? 100 * tp / (tp + fn) : 0)
        }
        html += extra
        html += "</body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: (options.outputFolder as NSString).appendingPathComponent("index.html"))
    }
}

/// Slots written by concurrent workers, one each; read after all finished.
final class ConcurrentSlots<Value>: @unchecked Sendable {
    // Safety: every access goes through `lock`.
    private var slots: [Value?]
    private let lock = NSLock()
    init(count: Int) { slots = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ value: Value) { lock.lock(); slots[index] = value; lock.unlock() }
    func get(_ index: Int) -> Value? { lock.lock(); defer { lock.unlock() }; return slots[index] }
}
