import Foundation
import Imaging
import ResultsFormat
import Diagnostics

/// The reference's `compare_batch_results` without ground truth: for each pair of results files,
/// every photo falls in one class — common detections, common non-detections, detections by A only,
/// by B only, or class transitions (both detect, different categories) — at per-file thresholds.
/// Writes an index page and one page per class with the photos rendered (A's boxes in one colour,
/// B's in another), sampled and sorted by confidence.
public enum ResultsComparisonReport {
    public static let classes: [(key: String, title: String)] = [
        ("common_detections", "Detections common to both models"),
        ("common_non_detections", "Non-detections common to both models"),
        ("detections_a_only", "Detections reported by model A only"),
        ("detections_b_only", "Detections reported by model B only"),
        ("class_transitions", "Detections reported as different classes by models A and B"),
    ]

    public struct Options: Sendable {
        public var outputFolder: String
        public var imagesFolder: String?
        /// One threshold per file (the last is repeated when fewer are given).
        public var thresholds: [Double] = [0.15]
        public var maxImagesPerClass = 100
        public var targetWidth = 800
        public init(outputFolder: String) { self.outputFolder = outputFolder }
    }

    /// The class of one photo for results A and B at the given thresholds.
    public static func classify(_ a: ImageResult, _ b: ImageResult, thresholdA: Double, thresholdB: Double) -> String {
        let categoriesA = Set((a.detections ?? []).filter { $0.conf >= thresholdA }.map(\.category))
        let categoriesB = Set((b.detections ?? []).filter { $0.conf >= thresholdB }.map(\.category))
        switch (categoriesA.isEmpty, categoriesB.isEmpty) {
        case (false, false): return categoriesA == categoriesB ? "common_detections" : "class_transitions"
        case (true, true): return "common_non_detections"
        case (false, true): return "detections_a_only"
        case (true, false): return "detections_b_only"
        }
    }

    /// Compares every pair of `files` (paths and results); returns the pages written.
    public static func write(_ files: [(String, ResultsFile)], options: Options, log: (String) -> Void = { _ in }) throws -> [String] {
        try FileManager.default.createDirectory(atPath: options.outputFolder, withIntermediateDirectories: true)
        var pages: [String] = []
        var index = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Results comparison</title></head><body>\n<h1>Results comparison</h1>\n"
        for i in 0..<files.count {
            for j in (i + 1)..<files.count {
                let pairFolder = "pair_\(i)_\(j)"
                let thresholdA = options.thresholds[min(i, options.thresholds.count - 1)]
                let thresholdB = options.thresholds[min(j, options.thresholds.count - 1)]
                let (a, b) = (files[i].1, files[j].1)
                let second = Dictionary(b.images.map { ($0.file, $0) }, uniquingKeysWith: { first, _ in first })
                var members: [String: [(ImageResult, ImageResult, Double)]] = [:]
                for imageA in a.images where imageA.failure == nil {
                    guard let imageB = second[imageA.file], imageB.failure == nil else { continue }
                    let kind = classify(imageA, imageB, thresholdA: thresholdA, thresholdB: thresholdB)
                    let confidence = max((imageA.detections ?? []).map(\.conf).max() ?? 0, (imageB.detections ?? []).map(\.conf).max() ?? 0)
                    members[kind, default: []].append((imageA, imageB, confidence))
                }
                index += "<h2>A: \(HTML.escape(files[i].0)) (threshold \(thresholdA)) vs B: \(HTML.escape(files[j].0)) (threshold \(thresholdB))</h2>\n<ul>\n"
                for (key, title) in classes {
                    let list = (members[key] ?? []).sorted { $0.2 > $1.2 }
                    let page = "\(pairFolder)/\(key).html"
                    index += "<li><a href=\"\(page)\">\(HTML.escape(title))</a>: \(list.count)</li>\n"
                    try writeClassPage(list.prefix(options.maxImagesPerClass), title: title, total: list.count,
                                       folder: (options.outputFolder as NSString).appendingPathComponent(pairFolder), name: key,
                                       thresholds: (thresholdA, thresholdB), options: options, log: log)
                    pages.append(page)
                }
                index += "</ul>\n"
            }
        }
        index += "<p>Boxes: model A in red, model B in blue.</p></body></html>\n"
        try AtomicFile.write(Data(index.utf8), to: (options.outputFolder as NSString).appendingPathComponent("index.html"))
        return pages
    }

    static func writeClassPage(_ members: ArraySlice<(ImageResult, ImageResult, Double)>, title: String, total: Int, folder: String,
                               name: String, thresholds: (Double, Double), options: Options, log: (String) -> Void) throws {
        let imagesFolder = (folder as NSString).appendingPathComponent(name)
        try FileManager.default.createDirectory(atPath: imagesFolder, withIntermediateDirectories: true)
        var html = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>\(HTML.escape(title))</title>"
        html += "<style>img{max-width:100%}</style></head><body>\n<h1>\(HTML.escape(title))</h1>\n"
        html += "<p>\(members.count) of \(total) photos shown, most confident first. <a href=\"../index.html\">Back</a></p>\n"
        for (position, (a, b, _)) in members.enumerated() {
            let source = a.file.hasPrefix("/") || options.imagesFolder == nil ? a.file : (options.imagesFolder! as NSString).appendingPathComponent(a.file)
            let output = String(format: "%05d.jpg", position)
            do {
                var image = try EntryPicture.load(a, path: source).image
                if image.width > options.targetWidth {
                    image = LinearResize.resize(image, width: options.targetWidth,
                                                height: max(1, image.height * options.targetWidth / image.width))
                }
                draw(a.detections ?? [], threshold: thresholds.0, color: Color(230, 30, 30), on: &image)
                draw(b.detections ?? [], threshold: thresholds.1, color: Color(30, 90, 230), on: &image)
                try image.jpegData().write(to: URL(fileURLWithPath: (imagesFolder as NSString).appendingPathComponent(output)))
                html += "<figure><img src=\"\(name)/\(output)\" alt=\"\(HTML.escape(a.file))\"><figcaption>\(HTML.escape(a.file))</figcaption></figure>\n"
            } catch {
                log("Warning: cannot render \(source): \(ErrorMessage.sentence(for: error))")
                html += "<p>\(HTML.escape(a.file)): not rendered (\(HTML.escape(ErrorMessage.sentence(for: error))))</p>\n"
            }
        }
        html += "</body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: (folder as NSString).appendingPathComponent(name + ".html"))
    }

    static func draw(_ detections: [DetectionResult], threshold: Double, color: Color, on image: inout RGBImage) {
        let renderer = DetectionRenderer(threshold: threshold, boxThickness: 3)
        for detection in detections where detection.conf >= threshold {
            let box = renderer.pixelBox(detection.bbox, width: image.width, height: image.height)
            image.strokeRectangle(x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1, thickness: 3, color: color)
        }
    }
}
