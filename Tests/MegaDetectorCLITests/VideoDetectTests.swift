import Foundation
import ResultsFormat
import Testing
import TestSupport

/// `megadetector detect` on clips against the reference's `process_video` on the same clips and model
/// (Tests/Fixtures/video/generate_video_fixtures.py): one entry per clip with the reference's frame
/// rate, sampled frames and failure text, and every sampled frame's detections within confidence 0.001
/// and 1 pixel of the reference's.
struct VideoDetectTests {
    static let fixtures = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/video")
    static let clips = fixtures.appendingPathComponent("clips")
    static let model = DetectCommandTests.model

    static func runDetect(_ input: String, _ extra: [String], output: String? = nil) throws -> (ResultsFile, String, String) {
        let output = output ?? FileManager.default.temporaryDirectory.appendingPathComponent("md-video-\(UUID().uuidString).json").path
        let result = try Fixtures.runCLI(["detect", model, input, output, "--recursive", "--output-relative-filenames"] + extra)
        #expect(result.status == 0, "\(result.stderr)")
        return (try ResultsFile.read(path: output), output, result.stderr)
    }

    /// Each sampled frame of each clip as an entry of its own ("clip.mp4#20"), so that detections are
    /// only ever matched within their frame; failed clips stay as they are.
    static func perFrame(_ file: ResultsFile) -> ResultsFile {
        let images = file.images.flatMap { image -> [ImageResult] in
            guard image.failure == nil, let frames = image.framesProcessed else { return [image] }
            return frames.map { number in
                ImageResult(file: "\(image.file)#\(number)", detections: (image.detections ?? []).filter { $0.frameNumber == number })
            }
        }
        return ResultsFile(images: images, info: file.info)
    }

    /// The clip's width, for the 1-pixel tolerance on normalised coordinates.
    static func widths() throws -> [String: Int] {
        let table = try Fixtures.jsonObject(at: fixtures.appendingPathComponent("expected_frames.json"))
        var widths: [String: Int] = [:]
        for (key, value) in table {
            if let entry = value as? [String: Any], let width = entry["width"] as? Int { widths[String(key.dropFirst("clips/".count))] = width }
        }
        return widths
    }

    static func check(_ ours: ResultsFile, against name: String) throws {
        let expected = try ResultsFile.read(path: fixtures.appendingPathComponent(name).path)
        #expect(ours.images.map(\.file) == expected.images.map(\.file))
        for (mine, theirs) in zip(ours.images, expected.images) {
            #expect(mine.frameRate == theirs.frameRate, "\(mine.file): frame rate")
            #expect(mine.framesProcessed == theirs.framesProcessed, "\(mine.file): frames processed")
            // The reference's text names the clip by its absolute path on the machine that made the fixture.
            let prefix = "Failure processing video: Could not open video "
            let theirFailure = theirs.failure.map { text in
                text.hasPrefix(prefix) ? prefix + Self.clips.appendingPathComponent(theirs.file).path : text
            }
            #expect(mine.failure == theirFailure, "\(mine.file): failure")
        }
        let report = ResultsComparer.compare(perFrame(ours), perFrame(expected), unmatchedAllowedUpTo: 0.005 + 0.001)
        #expect(report.imagesCompared > 10)
        #expect(report.onlyInFirst.isEmpty && report.onlyInSecond.isEmpty && report.failureMismatches.isEmpty)
        #expect(report.maxConfidenceError.value <= 0.001 + 1e-9, "\(report.maxConfidenceError)")
        let narrowest = try widths().values.min() ?? 1
        #expect(report.maxCoordinateError.value <= 1.0 / Double(narrowest) + 1e-9, "\(report.maxCoordinateError)")
        #expect(report.identicalImages >= report.imagesCompared * 9 / 10, "identical frames: \(report.identicalImages) of \(report.imagesCompared)")
    }

    @Test func everyTenthFrameMatchesTheReference() throws {
        let (ours, output, stderr) = try Self.runDetect(Self.clips.path, ["--frame-sample", "10"])
        try Self.check(ours, against: "expected_frame_sample_10.json")
        #expect(stderr.contains("8 video files found in the input directory"))
        #expect(try Fixtures.runCLI(["validate", output]).status == 0)
    }

    @Test func timeSamplingMatchesTheReference() throws {
        let (ours, _, _) = try Self.runDetect(Self.clips.path, ["--time-sample", "0.3", "--quiet"])
        try Self.check(ours, against: "expected_time_sample_0.3.json")
    }

    @Test func conflictingSamplingIsRefused() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-video-\(UUID().uuidString).json").path
        let result = try Fixtures.runCLI(["detect", Self.model, Self.clips.path, output, "--frame-sample", "10", "--time-sample", "1"])
        #expect(result.status != 0)
        #expect(result.stderr.contains("mutually exclusive"))
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    /// A survey folder mixing photos and clips gives one file: the photos' entries as a photo-only run
    /// writes them, the clips' as a clip-only run does.
    @Test func mixedFolderGivesPhotoAndVideoEntries() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-mixed-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("photos"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appendingPathComponent("clips"), withIntermediateDirectories: true)
        let synthetic = DetectCommandTests.fixtures.appendingPathComponent("synthetic")
        for name in ["odd_size_1001x667.jpg", "portrait_600x900.jpg"] {
            try FileManager.default.copyItem(at: synthetic.appendingPathComponent(name), to: folder.appendingPathComponent("photos/\(name)"))
        }
        for name in ["deer_h264.mp4", "not_a_video.mp4"] {
            try FileManager.default.copyItem(at: Self.clips.appendingPathComponent(name), to: folder.appendingPathComponent("clips/\(name)"))
        }
        let (mixed, output, _) = try Self.runDetect(folder.path, ["--frame-sample", "10", "--quiet"])
        #expect(mixed.images.map(\.file) == ["clips/deer_h264.mp4", "clips/not_a_video.mp4", "photos/odd_size_1001x667.jpg", "photos/portrait_600x900.jpg"])
        let (photos, _, _) = try Self.runDetect(folder.appendingPathComponent("photos").path, ["--quiet"])
        let (clips, _, _) = try Self.runDetect(folder.appendingPathComponent("clips").path, ["--frame-sample", "10", "--quiet"])
        #expect(Array(mixed.images.suffix(2)).map(\.detections) == photos.images.map(\.detections))
        // Clip entries equal the clip-only run's but for the file name, which is relative to another folder.
        #expect(Array(mixed.images.prefix(2)).map { var entry = $0; entry.file = String($0.file.dropFirst("clips/".count)); return entry.json }
                == clips.images.map(\.json))
        #expect(mixed.images[1].failure?.hasPrefix("Failure processing video: Could not open video ") == true)
        #expect(try Fixtures.runCLI(["validate", output]).status == 0)
    }

    /// The reference package's own validator accepts our video results (where a Python with it is named).
    @Test(.requires(.referencePython)) func videoResultsPassTheReferenceValidator() throws {
        let python = try #require(ProcessInfo.processInfo.environment["MEGADETECTOR_REFERENCE_PYTHON"])
        let (_, output, _) = try Self.runDetect(Self.clips.path, ["--frame-sample", "10", "--quiet"])
        let (status, text) = try Fixtures.runTool(python, [Fixtures.repositoryRoot.appendingPathComponent("scripts/validate_with_reference.py").path, output])
        #expect(status == 0, "\(text)")
    }
}
