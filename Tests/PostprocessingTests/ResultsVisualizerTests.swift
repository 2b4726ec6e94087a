import Foundation
import Imaging
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

struct ResultsVisualizerTests {
    static let detect = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect")

    @Test func blurChangesOnlyTheRegion() throws {
        let original = try ImageDecoder.decode(path: Self.detect.appendingPathComponent("synthetic/odd_size_1001x667.jpg").path).image
        var blurred = original
        blurred.blur(x0: 100, y0: 100, x1: 300, y1: 250, radius: 40)
        var changedInside = 0, changedOutside = 0
        for y in 0..<original.height {
            for x in 0..<original.width where blurred[x: x, y: y] != original[x: x, y: y] {
                if (100..<300).contains(x) && (100..<250).contains(y) { changedInside += 1 } else { changedOutside += 1 }
            }
        }
        #expect(changedInside > 200 * 150 / 2)
        #expect(changedOutside == 0)
    }

    @Test func rendersResizedImagesAndAnIndexWithoutBrokenLinks() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-visualize-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Fixtures.runCLI(["visualize", Self.detect.appendingPathComponent("expected_synthetic.json").path, output.path,
                                          "--images-dir", Self.detect.appendingPathComponent("synthetic").path, "--confidence", "0.01",
                                          "--output-image-width", "500", "--blur-categories", "person"])
        #expect(result.status == 0, "\(result.stderr)")
        let html = try String(contentsOf: output.appendingPathComponent("index.html"), encoding: .utf8)
        let links = html.components(separatedBy: "src=\"").dropFirst().map { String($0.prefix { $0 != "\"" }) }
        #expect(links.count == 16)  // 18 photos, 2 failures in the results file
        for link in links {
            let path = output.appendingPathComponent(link.removingPercentEncoding ?? link).path
            #expect(FileManager.default.fileExists(atPath: path), "broken link \(link)")
            let image = try ImageDecoder.decode(path: path).image
            #expect(image.width == 500)
        }
        #expect(links.contains("anno_exif_orientation_6.jpg"))
    }

    /// `visualize --blur-categories person` end to end: inside a person's box the picture is blurred,
    /// far from it nothing changes; `--sample -1` means all photos.
    @Test func blurCategoriesBlursPeopleOnly() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("md-blur-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        let results = work.appendingPathComponent("results.json")
        try Data("""
            {"images": [{"file": "portrait_600x900.jpg", "detections": [{"category": "2", "conf": 0.9, "bbox": [0.3, 0.4, 0.5, 0.4]}]}],
             "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"}, "info": {"format_version": "1.6"}}
            """.utf8).write(to: results)
        var outputs: [RGBImage] = []
        for blur in [false, true] {
            let output = work.appendingPathComponent(blur ? "blurred" : "plain")
            let run = try Fixtures.runCLI(["visualize", results.path, output.path, "--images-dir", Self.detect.appendingPathComponent("synthetic").path,
                                           "--output-image-width", "-1", "--sample", "-1"] + (blur ? ["--blur-categories", "person"] : []))
            #expect(run.status == 0, "\(run.stderr)")
            outputs.append(try ImageDecoder.decode(path: output.appendingPathComponent("anno_portrait_600x900.jpg").path).image)
        }
        let (plain, blurred) = (outputs[0], outputs[1])
        func meanDifference(_ xs: Range<Int>, _ ys: Range<Int>) -> Double {
            var total = 0
            for y in ys { for x in xs { for c in 0..<3 { total += abs(Int(plain.pixels[(y * 600 + x) * 3 + c]) - Int(blurred.pixels[(y * 600 + x) * 3 + c])) } } }
            return Double(total) / Double(xs.count * ys.count * 3)
        }
        // Box: x 180..480, y 360..720; inside it away from the drawn edges, and a corner far from it.
        #expect(meanDifference(220..<440, 400..<680) > 2, "the person's box is blurred")
        #expect(meanDifference(0..<96, 0..<96) == 0, "far from the box nothing changes")
    }

    @Test func sampleIsReproducible() throws {
        var first: [String] = []
        for round in 0..<2 {
            let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-sample-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: output) }
            var options = ResultsVisualizer.Options(resultsPath: Self.detect.appendingPathComponent("expected_synthetic.json").path,
                                                    outputFolder: output.path)
            options.imagesFolder = Self.detect.appendingPathComponent("synthetic").path
            options.sample = 4
            options.randomSeed = 7
            options.outputImageWidth = 100
            let files = try ResultsVisualizer.run(options).map(\.file)
            #expect(files.count == 4)
            if round == 0 { first = files } else { #expect(files == first) }
        }
    }
}
