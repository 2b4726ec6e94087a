import Detection
import Foundation
import Imaging
import ModelFormats
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// The fixture model's detections drawn on a real camera-trap photo: box edges in the category's
/// colour, the label band above the box, crops the size of their boxes.
struct RenderingOnPhotosTests {
    @Test(.requires(.shared), .requires(.font)) func boxesLabelsAndCropsOnASharedPhoto() throws {
        let shared = try Fixtures.requireShared()
        let model = try ModelLoader.load(path: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/md_v5_tiny.pt").path)
        let detector = Detector(model: model, configuration: DetectorConfiguration.defaults(for: model))
        let photo = try ImageDecoder.decode(path: shared.appendingPathComponent("images/camera-traps/animl_IMAG0004_cougar.JPG").path).image
        let detections = try detector.detect(photo)
        // The most confident detection whose box is well inside the photo and big enough to test.
        let renderer = DetectionRenderer(threshold: 0.2, boxThickness: 6, labelFontSize: 24)
        let chosen = try #require(detections.filter { $0.conf >= 0.2 }.first { detection in
            let box = renderer.pixelBox(detection.bbox, width: photo.width, height: photo.height)
            return box.x0 > 10 && box.y0 > 60 && box.x1 < photo.width - 10 && box.y1 < photo.height - 10
                && box.x1 - box.x0 > 40 && box.y1 - box.y0 > 40
        })
        var rendered = photo
        renderer.render([chosen], on: &rendered)
        let color = DetectionRenderer.color(forCategory: chosen.category)
        let box = renderer.pixelBox(chosen.bbox, width: photo.width, height: photo.height)
        let middleY = (box.y0 + box.y1) / 2, middleX = (box.x0 + box.x1) / 2
        for (x, y) in [(box.x0, middleY), (box.x1, middleY), (middleX, box.y1)] {
            #expect(rendered[x: x, y: y] == (color.r, color.g, color.b), "edge pixel at \(x),\(y)")
        }
        #expect(rendered[x: middleX, y: middleY] == photo[x: middleX, y: middleY], "inside the box is untouched")
        // The label band sits just above the top edge, starting at the box's left edge.
        #expect(rendered[x: box.x0 + 1, y: box.y0 - 8] == (color.r, color.g, color.b))
        let crops = renderer.crops([chosen], of: photo)
        #expect(crops.count == 1)
        #expect(crops[0].width == box.x1 - box.x0 + 1 && crops[0].height == box.y1 - box.y0 + 1)
    }
}

extension Requirement {
    /// A TrueType font for label text (Imaging's search paths, or MEGADETECTOR_FONT).
    static let font = Requirement("a TrueType font (fonts-dejavu-core, or MEGADETECTOR_FONT)") { Font.standard == nil ? "no font found" : nil }
}
