import Foundation
import Imaging
import ResultsFormat
import VideoDecoding
import Diagnostics

/// The reference's `visualize_detector_output`: draws a results file's boxes on its photos (blurring
/// chosen categories first), resized to a width, plus an `index.html` of the rendered images.
public struct ResultsVisualizer {
    public struct Options: Sendable {
        public var resultsPath: String
        public var outputFolder: String
        /// Folder that relative file names are relative to.
        public var imagesFolder: String?
        public var confidence = 0.15
        /// Render a random sample of this many photos (nil: all).
        public var sample: Int?
        public var randomSeed: UInt64 = 0
        /// Output width in pixels (nil: keep the photo's size).
        public var outputImageWidth: Int? = 1000
        public var detectionsOnly = false
        public var preservePathStructure = false
        public var blurCategories: Set<String> = []
        public var boxThickness = 4
        public var boxExpansion = 0
        public var labelFontSize = 16
        /// Species labels at or above this score are drawn under the detection's (the reference's 0.1).
        public var classificationConfidence = 0.1

        public init(resultsPath: String, outputFolder: String) {
            self.resultsPath = resultsPath
            self.outputFolder = outputFolder
        }
    }

    public struct Rendered: Sendable {
        public var file: String
        public var output: String?
        public var failure: String?
    }

    public static func run(_ options: Options, log: (String) -> Void = { _ in }) throws -> [Rendered] {
        let results = try ResultsInput.load(options.resultsPath)
        let names = Dictionary(results.detectionCategories, uniquingKeysWith: { first, _ in first })
        var images = results.images.filter { $0.failure == nil }
        if options.detectionsOnly {
            images = images.filter { ($0.detections ?? []).contains { $0.conf >= options.confidence } }
        }
        if let sample = options.sample, sample < images.count {
            var generator = SplitMix(seed: options.randomSeed)
            images = Array(images.shuffled(using: &generator).prefix(sample)).sorted { $0.file < $1.file }
        }
        try FileManager.default.createDirectory(atPath: options.outputFolder, withIntermediateDirectories: true)
        var renderer = DetectionRenderer(threshold: options.confidence, boxThickness: options.boxThickness,
                                         boxExpansion: options.boxExpansion, labelFontSize: options.labelFontSize, categories: names)
        renderer.classificationNames = results.classificationCategories.map { Dictionary($0, uniquingKeysWith: { first, _ in first }) }
        renderer.classificationThreshold = options.classificationConfidence
        let blurIds = Set(names.filter { options.blurCategories.contains($0.value) }.map(\.key))
        var rendered: [Rendered] = []
        for image in images {
            let source = image.file.hasPrefix("/") || options.imagesFolder == nil
                ? image.file : (options.imagesFolder! as NSString).appendingPathComponent(image.file)
            do {
                var (pixels, detections) = try EntryPicture.load(image, path: source)
                for detection in detections where blurIds.contains(detection.category) && detection.conf >= options.confidence {
                    let box = renderer.pixelBox(detection.bbox, width: pixels.width, height: pixels.height)
                    pixels.blur(x0: box.x0, y0: box.y0, x1: box.x1 + 1, y1: box.y1 + 1, radius: 40)
                }
                if let width = options.outputImageWidth, width > 0, width != pixels.width {
                    let height = max(1, Int((Double(pixels.height) * Double(width) / Double(pixels.width)).rounded()))
                    pixels = LinearResize.resize(pixels, width: width, height: height)
                }
                renderer.render(detections, on: &pixels)
                var name = options.preservePathStructure
                    ? image.file
                    : "anno_" + image.file.replacingOccurrences(of: "/", with: "~").replacingOccurrences(of: "\\", with: "~")
                        .replacingOccurrences(of: ":", with: "~")
                // A clip is shown by a frame, which is a JPEG like the photos' pages.
                if VideoFiles.isVideo(name) { name += ".jpg" }
                let output = (options.outputFolder as NSString).appendingPathComponent(name)
                try FileManager.default.createDirectory(atPath: (output as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try pixels.jpegData().write(to: URL(fileURLWithPath: output))
                rendered.append(Rendered(file: image.file, output: output))
            } catch {
                log("Warning: error rendering \(source): \(ErrorMessage.sentence(for: error))")
                rendered.append(Rendered(file: image.file, failure: ErrorMessage.sentence(for: error)))
            }
        }
        try writeIndex(rendered, to: (options.outputFolder as NSString).appendingPathComponent("index.html"), base: options.outputFolder)
        return rendered
    }

    static func writeIndex(_ rendered: [Rendered], to path: String, base: String) throws {
        var html = "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>MegaDetector results</title>\n"
        html += "<style>body{font-family:sans-serif;margin:1em}figure{margin:0 0 2em 0}img{max-width:100%}</style></head><body>\n"
        html += "<h1>\(rendered.filter { $0.output != nil }.count) rendered images</h1>\n"
        for item in rendered {
            guard let output = item.output else {
                html += "<p>\(HTML.escape(item.file)): could not be rendered (\(HTML.escape(item.failure ?? "")))</p>\n"
                continue
            }
            let relative = String(output.dropFirst(base.count)).trimmingCharacters(in: CharacterSet(charactersIn: "/"))
            html += "<figure><img src=\"\(HTML.escapeURL(relative))\" alt=\"\(HTML.escape(item.file))\"><figcaption>\(HTML.escape(item.file))</figcaption></figure>\n"
        }
        html += "</body></html>\n"
        try AtomicFile.write(Data(html.utf8), to: path)
    }
}

/// HTML escaping for text and attribute values, and percent-encoding for relative links.
public enum HTML {
    public static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    public static func escapeURL(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#")
        return path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path
    }
}

/// A small deterministic generator, so `--sample` with a seed picks the same photos every time.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
