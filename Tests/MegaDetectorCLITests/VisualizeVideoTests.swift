import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `megadetector visualize-video` on the reference's own results for the fixture clips: a rendered
/// clip per readable clip, with the sampled frames at the rate that plays them at real speed.
struct VisualizeVideoTests {
    @Test func rendersEachClipsSampledFrames() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-vv-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let results = VideoDetectTests.fixtures.appendingPathComponent("expected_frame_sample_10.json").path
        let run = try Fixtures.runCLI(["visualize-video", results, output.path, "--videos-dir", VideoDetectTests.clips.path,
                                       "--confidence", "0.005", "--output-extension", "mp4"])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("Rendered 6 of 8 videos"), "\(run.stdout)")
        #expect(run.stderr.contains("not_a_video.mp4: Ignoring failed video: Failure processing video"))
        let expected = try ResultsFile.read(path: results)
        for entry in expected.images where entry.failure == nil {
            let rendered = output.appendingPathComponent((entry.file as NSString).deletingPathExtension + ".mp4").path
            // Our own detect reads the rendered clip back: frame count and rate survive the round trip.
            let probe = try Fixtures.runCLI(["detect", VideoDetectTests.model, rendered, output.appendingPathComponent("probe.json").path, "--quiet"])
            #expect(probe.status == 0, "\(probe.stderr)")
            let back = try ResultsFile.read(path: output.appendingPathComponent("probe.json").path).images.first
            #expect(back?.framesProcessed?.count == entry.framesProcessed?.count, "\(entry.file)")
            // The reference's "auto" rate: the clip's over the first interval between frames with detections
            // (a single such frame keeps the clip's rate).
            let detectionFrames = Set((entry.detections ?? []).compactMap(\.frameNumber)).count
            let rate = detectionFrames < 2 ? entry.frameRate! : entry.frameRate! / 10
            #expect(back?.frameRate.map { abs($0 - rate) < 1e-6 } == true, "\(entry.file): \(String(describing: back?.frameRate))")
        }
    }

    /// `visualize`, `report` and `separate` take clip entries: a clip is shown by the frame of its most
    /// confident detection (a JPEG), and separated whole.
    @Test func photoToolsShowAndMoveClips() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-vtools-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let results = VideoDetectTests.fixtures.appendingPathComponent("expected_frame_sample_10.json").path
        let clips = VideoDetectTests.clips.path
        let visualize = try Fixtures.runCLI(["visualize", results, folder.appendingPathComponent("pages").path, "--images-dir", clips,
                                             "--confidence", "0.005", "--output-image-width", "-1"])
        #expect(visualize.status == 0, "\(visualize.stderr)")
        #expect(visualize.stdout.contains("Rendered 6 of 6 images"), "\(visualize.stdout)")
        let page = folder.appendingPathComponent("pages/anno_deer_h264.mp4.jpg").path
        #expect(try ImageDecoderShim.size(page) == [480, 360])
        let report = try Fixtures.runCLI(["report", results, folder.appendingPathComponent("report").path, "--images-dir", clips])
        #expect(report.status == 0, "\(report.stderr)")
        #expect(report.stdout.contains("6 rendered"), "\(report.stdout)")
        let separate = try Fixtures.runCLI(["separate", results, clips, folder.appendingPathComponent("separated").path])
        #expect(separate.status == 0, "\(separate.stderr)")
        #expect(FileManager.default.contentsEqual(atPath: folder.appendingPathComponent("separated/empty/nested/rabbit_mpeg4.mkv").path,
                                                  andPath: VideoDetectTests.clips.appendingPathComponent("nested/rabbit_mpeg4.mkv").path))
        #expect(FileManager.default.fileExists(atPath: folder.appendingPathComponent("separated/processing_failure/empty.mov").path))
        // COCO needs sizes the results do not record: a clip's are its frames' as read (turned by its tag).
        let coco = folder.appendingPathComponent("coco.json").path
        let convert = try Fixtures.runCLI(["convert", results, coco, "--to", "coco", "--image-folder", clips])
        #expect(convert.status == 0, "\(convert.stderr)")
        let images = try #require(try Fixtures.jsonObject(at: URL(fileURLWithPath: coco))["images"] as? [[String: Any]])
        let rotated = images.first { $0["file_name"] as? String == "rotated_90_h264.mp4" }
        #expect(rotated?["width"] as? Int == 360 && rotated?["height"] as? Int == 480)
    }

    /// `render` on a clip runs the detector on its sampled frames and writes them, boxes drawn, as
    /// <name>_detections.mp4 at the rate that plays them at real speed.
    @Test func renderWritesADetectionsClip() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-vrender-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let run = try Fixtures.runCLI(["render", VideoDetectTests.model, "--image-file", VideoDetectTests.clips.appendingPathComponent("deer_h264.mp4").path,
                                       "--output-dir", folder.path, "--frame-sample", "5", "--threshold", "0.005"])
        #expect(run.status == 0, "\(run.stderr)")
        let rendered = folder.appendingPathComponent("deer_h264_detections.mp4").path
        let probe = folder.appendingPathComponent("probe.json").path
        #expect(try Fixtures.runCLI(["detect", VideoDetectTests.model, rendered, probe, "--quiet"]).status == 0)
        let back = try ResultsFile.read(path: probe).images.first
        #expect(back?.framesProcessed == Array(0..<6))  // frames 0, 5, ..., 25 of 30
        #expect(back?.frameRate == 6)
    }
}
