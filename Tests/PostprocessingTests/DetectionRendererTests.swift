import Foundation
import Imaging
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

struct DetectionRendererTests {
    static let grey = Color(128, 128, 128)

    func canvas() -> RGBImage {
        var image = RGBImage(width: 400, height: 300)
        image.fill(x0: 0, y0: 0, x1: 400, y1: 300, color: Self.grey)
        return image
    }

    @Test func boxEdgesAndLabelBand() throws {
        var image = canvas()
        let renderer = DetectionRenderer(threshold: 0.2, boxThickness: 4, labelFontSize: 16)
        let animal = DetectionResult(category: "1", conf: 0.92, bbox: [0.25, 0.5, 0.5, 0.25])  // x 100...300, y 150...225
        let faint = DetectionResult(category: "2", conf: 0.1, bbox: [0.0, 0.0, 0.1, 0.1])       // below the threshold
        renderer.render([animal, faint], on: &image)
        let orange = DetectionRenderer.color(forCategory: "1")
        #expect(image[x: 100, y: 190] == (orange.r, orange.g, orange.b))   // left edge
        #expect(image[x: 300, y: 190] == (orange.r, orange.g, orange.b))   // right edge
        #expect(image[x: 200, y: 225] == (orange.r, orange.g, orange.b))   // bottom edge
        #expect(image[x: 200, y: 190] == (128, 128, 128))                  // inside untouched
        #expect(image[x: 20, y: 29] == (128, 128, 128))                    // faint detection not drawn
        #expect(renderer.label(animal) == "animal: 92%")
    }

    /// The label band sits above the box: box colour with black text in it (text needs a font).
    @Test(.requires(.font))
    func labelBandHasText() throws {
        var image = canvas()
        let renderer = DetectionRenderer(threshold: 0.2, boxThickness: 4, labelFontSize: 16)
        renderer.render([DetectionResult(category: "1", conf: 0.92, bbox: [0.25, 0.5, 0.5, 0.25])], on: &image)
        let orange = DetectionRenderer.color(forCategory: "1")
        var bandPixels: [(UInt8, UInt8, UInt8)] = []
        for y in 125..<148 { for x in 98..<180 { bandPixels.append(image[x: x, y: y]) } }
        #expect(bandPixels.contains { $0 == (orange.r, orange.g, orange.b) })
        #expect(bandPixels.contains { $0.0 < 60 && $0.1 < 60 && $0.2 < 60 }, "no dark text pixels in the label")
    }

    /// The documented colours (DetectionRenderer.color): animal orange, person blue, vehicle pink,
    /// further categories from the fixed palette by number, so every render of a category matches.
    @Test func categoriesHaveDistinctFixedColours() {
        #expect(DetectionRenderer.color(forCategory: "1") == Color(255, 140, 0))
        #expect(DetectionRenderer.color(forCategory: "2") == Color(30, 144, 255))
        #expect(DetectionRenderer.color(forCategory: "3") == Color(255, 20, 147))
        #expect(DetectionRenderer.color(forCategory: "4") == Color(220, 20, 60))
        #expect(DetectionRenderer.color(forCategory: "5") == Color(50, 205, 50))
        let colours = ["1", "2", "3", "4", "5", "6", "7", "8"].map(DetectionRenderer.color(forCategory:))
        #expect(Set(colours.map { "\($0.r),\($0.g),\($0.b)" }).count == 8)
    }

    @Test func cropsHaveTheBoxSizes() {
        let renderer = DetectionRenderer(threshold: 0.2, boxExpansion: 0)
        let crops = renderer.crops([DetectionResult(category: "1", conf: 0.9, bbox: [0.25, 0.5, 0.5, 0.25]),
                                    DetectionResult(category: "1", conf: 0.1, bbox: [0, 0, 1, 1])], of: canvas())
        #expect(crops.count == 1)
        #expect(crops[0].width == 201 && crops[0].height == 76)
    }

    @Test func jpegEncodingRoundTrips() throws {
        var image = canvas()
        image.fill(x0: 50, y0: 50, x1: 150, y1: 150, color: Color(200, 30, 30))
        let decoded = try ImageDecoder.decode(data: image.jpegData(quality: 95), path: "mem.jpg").image
        #expect(decoded.width == 400 && decoded.height == 300)
        let (r, g, b) = decoded[x: 100, y: 100]
        #expect(abs(Int(r) - 200) < 8 && abs(Int(g) - 30) < 8 && abs(Int(b) - 30) < 8)
    }
}

extension Requirement {
    /// A TrueType font for label text (Imaging's search paths, or MEGADETECTOR_FONT).
    static let font = Requirement("a TrueType font (fonts-dejavu-core, or MEGADETECTOR_FONT)") { Font.standard == nil ? "no font found" : nil }
}
