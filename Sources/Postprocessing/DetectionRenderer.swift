import Foundation
import Imaging
import ResultsFormat

/// Draws detections on photos: a box per detection at or above the threshold and a label
/// (`animal: 92%`) in black on a band of the box's colour above it (inside the box when there is no
/// room above), as the reference's `render_detection_bounding_boxes` does.
public struct DetectionRenderer: Sendable {
    public var threshold: Double
    public var boxThickness: Int
    public var boxExpansion: Int
    public var labelFontSize: Int
    /// Category id -> name, for labels.
    public var categories: [String: String]
    /// Classification id -> name: species labels under the detection's (`coyote: 87.3%`), as the
    /// reference draws them; nil draws none.
    public var classificationNames: [String: String]?
    /// Classifications below this score are not drawn (the reference's report default).
    public var classificationThreshold = 0.5
    public var maxClassifications = 3

    public init(threshold: Double = 0.2, boxThickness: Int = 4, boxExpansion: Int = 0, labelFontSize: Int = 16,
                categories: [String: String] = Dictionary(uniqueKeysWithValues: ResultsFile.megadetectorCategories)) {
        self.threshold = threshold
        self.boxThickness = boxThickness
        self.boxExpansion = boxExpansion
        self.labelFontSize = labelFontSize
        self.categories = categories
    }

    /// The same colours for the same categories everywhere in the project: animal orange, person
    /// blue, vehicle pink (distinct for colour-blind viewers), further categories from a fixed list.
    public static func color(forCategory category: String) -> Color {
        switch category {
        case "1": return Color(255, 140, 0)
        case "2": return Color(30, 144, 255)
        case "3": return Color(255, 20, 147)
        default:
            let palette = [Color(50, 205, 50), Color(255, 215, 0), Color(138, 43, 226), Color(0, 206, 209), Color(220, 20, 60)]
            return palette[abs(Int(category) ?? category.unicodeScalars.reduce(0) { $0 + Int($1.value) }) % palette.count]
        }
    }

    /// Pixel rectangle [x0, x1] x [y0, y1] of a normalised box, expanded and clipped.
    public func pixelBox(_ bbox: [Double], width: Int, height: Int) -> (x0: Int, y0: Int, x1: Int, y1: Int) {
        let x0 = Int((bbox[0] * Double(width)).rounded()) - boxExpansion
        let y0 = Int((bbox[1] * Double(height)).rounded()) - boxExpansion
        let x1 = Int(((bbox[0] + bbox[2]) * Double(width)).rounded()) + boxExpansion
        let y1 = Int(((bbox[1] + bbox[3]) * Double(height)).rounded()) + boxExpansion
        return (max(x0, 0), max(y0, 0), min(x1, width - 1), min(y1, height - 1))
    }

    public func label(_ detection: DetectionResult) -> String {
        "\(categories[detection.category] ?? detection.category): \(Int((detection.conf * 100).rounded()))%"
    }

    /// The detection's label, then one line per classification drawn: the name in lower case and the
    /// score in percent to one decimal (`round_float(100 * conf, 1)`, printed as Python prints it).
    public func labels(_ detection: DetectionResult) -> [String] {
        guard let names = classificationNames else { return [label(detection)] }
        let shown = (detection.classifications ?? []).prefix(maxClassifications).filter { $0.score >= classificationThreshold }
        return [label(detection)] + shown.map { category, score in
            let percent = Double(String(format: "%.1f", 100 * score)) ?? 100 * score
            return "\((names[category] ?? category).lowercased()): \(JSONWriter.pythonRepr(percent))%"
        }
    }

    /// Draws every detection at or above the threshold, lowest confidence first so the most confident
    /// box ends on top.
    public func render(_ detections: [DetectionResult], on image: inout RGBImage, font: Font? = Font.standard) {
        for detection in detections.filter({ $0.conf >= threshold }).sorted(by: { $0.conf < $1.conf }) {
            let color = Self.color(forCategory: detection.category)
            let box = pixelBox(detection.bbox, width: image.width, height: image.height)
            image.strokeRectangle(x0: box.x0, y0: box.y0, x1: box.x1, y1: box.y1, thickness: boxThickness, color: color)
            guard let font else { continue }
            // One band per line, stacked: the detection's label on top, species lines below it.
            let texts = labels(detection).map { font.rasterize($0, size: labelFontSize) }
            let margin = max(labelFontSize / 8, 1)
            let totalHeight = texts.reduce(0) { $0 + $1.height + 2 * margin }
            let above = box.y0 - boxThickness / 2 - totalHeight >= 0
            var bandTop = above ? box.y0 - boxThickness / 2 - totalHeight : box.y0 + (boxThickness + 1) / 2
            let bandLeft = box.x0 - boxThickness / 2
            for text in texts {
                let bandHeight = text.height + 2 * margin
                image.fill(x0: bandLeft, y0: bandTop, x1: bandLeft + text.width + 2 * margin, y1: bandTop + bandHeight, color: color)
                image.blend(coverage: text.coverage, maskWidth: text.width, maskHeight: text.height, x: bandLeft + margin,
                            y: bandTop + margin, color: .black)
                bandTop += bandHeight
            }
        }
    }

    /// Crops of the detections at or above the threshold, most confident first.
    public func crops(_ detections: [DetectionResult], of image: RGBImage) -> [RGBImage] {
        detections.filter { $0.conf >= threshold }.map { detection in
            let box = pixelBox(detection.bbox, width: image.width, height: image.height)
            return image.cropped(x0: box.x0, y0: box.y0, x1: box.x1 + 1, y1: box.y1 + 1)
        }
    }
}
