import Foundation
import ResultsFormat

/// The species part of the reference's report (`postprocess_batch_results` with classifications): a page
/// per species of the sampled photos that have a detection of it, an "unreliable" page for detections
/// whose best classification is below the classification threshold, links with their counts on the
/// index, and a count per species over the whole file.
extension BatchReport {
    /// Page names of one sampled photo (`_render_image_no_gt`): for each detection at or above the
    /// threshold with classifications, `class_<name>` of its best classification, or
    /// `class_unreliable` below `classificationThreshold`; photos without detections get none.
    static func speciesPages(_ image: ImageResult, kind: String, threshold: Double, classificationThreshold: Double,
                             names: [String: String]) -> [String] {
        guard kind != "non_detections", kind != "failures", let detections = image.detections else { return [] }
        var pages: [String] = []
        for detection in detections where detection.conf >= threshold {
            guard let top = detection.classifications?.first else { continue }
            let page = top.score >= classificationThreshold ? "class_" + (names[top.category] ?? top.category) : "class_unreliable"
            if !pages.contains(page) { pages.append(page) }
        }
        return pages
    }

    /// Detections per species over the whole file: each detection's best classification at or above
    /// the threshold (any detection confidence), most frequent first, ties in order of first appearance.
    static func speciesCounts(_ results: ResultsFile, classificationThreshold: Double) -> [(name: String, count: Int)] {
        let names = Dictionary(results.classificationCategories ?? [], uniquingKeysWith: { first, _ in first })
        let tops = results.images.flatMap { $0.detections ?? [] }.compactMap(\.classifications?.first).filter { $0.score >= classificationThreshold }
        return Tally.counts(tops.map { names[$0.category] ?? $0.category }).map { ($0.key, $0.count) }
    }

    /// A species page's file name (`clean_filename` with whitespace as `_`).
    static func speciesPageFile(_ page: String) -> String {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.()~")
        return String(page.map { $0.isWhitespace ? "_" : $0 }.filter { allowed.contains($0) })
    }

    /// The index's species section: links to the species pages (alphabetical, "unreliable" last) with
    /// the number of sampled photos on each, then the whole file's detections per species.
    static func speciesIndexSection(pages: [String: Int], counts: [(name: String, count: Int)], results: ResultsFile,
                                    classificationThreshold: Double) -> String {
        var html = "<h2>Species classification results</h2>\n<p>The same image might appear under multiple classes if multiple species were detected. "
        html += "Classifications with confidence less than \(String(format: "%.1f%%", 100 * classificationThreshold)) are considered \"unreliable\".</p>\n"
        var names = Array(Set((results.classificationCategories ?? []).map(\.1))).sorted()
        if pages["class_unreliable"] != nil { names.append("unreliable") }
        for name in names {
            guard let count = pages["class_" + name], count > 0 else { continue }
            let shown = name.isEmpty ? "[no name available]" : name.lowercased()
            html += "<a href=\"\(speciesPageFile("class_" + name)).html\">\(HTML.escape(shown))</a> (\(count))<br/>\n"
        }
        html += "<h3>Category counts (for the whole dataset, not just the sample used for this page)</h3>\n"
        for (name, count) in counts { html += "\(HTML.escape(name)): \(count)<br/>\n" }
        return html
    }
}
