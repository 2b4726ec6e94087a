import Foundation
import ResultsFormat
import Testing
import TestSupport

/// A MegaDetector v4-structure graph (the thin fixture) goes everywhere a `.pt` model goes: by name
/// through the registry (`MDV4=/path/md_v4.1.0.pb`, with v4.1's metadata in the results) and to `render`.
struct MegaDetectorV4CommandsTests {
    static let graph = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/mdv4/mdv4_thin.pb").path
    static let photos = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/synthetic")

    @Test func theNameMDV4RunsTheGraphWithTheV4Metadata() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("v4-name-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = Self.photos.appendingPathComponent("portrait_600x900.jpg")
        try FileManager.default.copyItem(at: photo, to: folder.appendingPathComponent(photo.lastPathComponent))
        let output = folder.appendingPathComponent("results.json").path
        let run = try Fixtures.runCLI(["detect", "MDV4", folder.path, output, "--quiet", "--threshold", "0.0001"],
                                      environment: ["MDV4": Self.graph])
        #expect(run.status == 0, "\(run.stderr)")
        let results = try ResultsFile.read(path: output)
        let metadata = try #require(results.info["detector_metadata"]?.object)
        #expect(metadata["megadetector_version"]?.string == "v4.1.0")
        #expect(metadata["typical_detection_threshold"]?.number == 0.8 && metadata["conservative_detection_threshold"]?.number == 0.3)
        #expect(results.images.count == 1 && results.images[0].failure == nil)
        // Categories are the graph's 1-based classes, confidences above the threshold.
        let detections = try #require(results.images[0].detections)
        #expect(!detections.isEmpty && detections.allSatisfy { ["1", "2", "3"].contains($0.category) && $0.conf > 0.0001 })
    }

    @Test func renderDrawsTheGraphsDetections() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("v4-render-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let photo = Self.photos.appendingPathComponent("portrait_600x900.jpg").path
        let rendered = try Fixtures.runCLI(["render", Self.graph, "--image-file", photo, "--output-dir", folder.path, "--threshold", "0.0001"])
        #expect(rendered.status == 0, "\(rendered.stderr)")
        #expect(try ImageDecoderShim.size(folder.appendingPathComponent("portrait_600x900_detections.jpg").path) == [600, 900])
        // As in the reference, graphs take no --image-size: refused with one clear line.
        let refused = try Fixtures.runCLI(["detect", Self.graph, photo, folder.appendingPathComponent("x.json").path, "--image-size", "640"])
        #expect(refused.status != 0 && refused.stderr.contains("--image-size is not supported for MegaDetector v2-v4"), "\(refused.stderr)")
    }
}
