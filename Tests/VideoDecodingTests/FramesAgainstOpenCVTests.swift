import Foundation
import Imaging
import Testing
import TestSupport
import VideoDecoding

/// Our frames against cv2.VideoCapture's (what the reference reads): frame rate, frame count, size and
/// the MD5 of every frame's RGB pixels, recorded by Tests/Fixtures/video/generate_video_fixtures.py.
struct FramesAgainstOpenCVTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/video")

    static func expected() throws -> [String: [String: Any]] {
        let url = folder.appendingPathComponent("expected_frames.json")
        guard let table = try Fixtures.jsonObject(at: url) as? [String: [String: Any]], !table.isEmpty else {
            throw Fixtures.FixtureError.missing("\(url.path) is not a table of clips")
        }
        return table
    }

    static let readableClips = ["clips/deer_h264.mp4", "clips/coyote_mjpeg.avi", "clips/human_h264.mov",
                                "clips/nested/rabbit_mpeg4.mkv", "clips/truncated_mjpeg.avi", "clips/rotated_90_h264.mp4"]

    @Test("Frames equal OpenCV's, pixel for pixel, with its frame rate and count", arguments: readableClips)
    func framesEqualOpenCV(_ clip: String) throws {
        let entry = try #require(try Self.expected()[clip], "no fixture entry for \(clip)")
        let frames = try SampledFrames(path: Self.folder.appendingPathComponent(clip).path, sampling: .everyFrame)
        #expect(frames.frameRate == entry["frame_rate"] as? Double)
        #expect(frames.frameCount == entry["frame_count"] as? Int)
        // OpenCV turns tagged clips (CAP_PROP_ORIENTATION_META) by default, and so do we.
        #expect(frames.reader.quarterTurns * 90 == Int(entry["orientation"] as? Double ?? -1))
        let digests = try #require(entry["frame_md5"] as? [String])
        var ours: [String] = []
        while let (number, image) = frames.next() {
            #expect(number == ours.count)
            #expect(image.width == entry["width"] as? Int && image.height == entry["height"] as? Int)
            ours.append(Checksum.md5Hex(image.pixels))
        }
        // The truncated clip ends where its data does, as OpenCV's read() loop does.
        #expect(ours.count == digests.count)
        let differing = zip(ours, digests).enumerated().filter { $0.element.0 != $0.element.1 }.map(\.offset)
        #expect(differing.isEmpty, "frames \(differing) differ from OpenCV's")
    }

    @Test("Unreadable files fail to open with the reference's message", arguments: ["clips/not_a_video.mp4", "clips/empty.mov"])
    func unreadableClipsFail(_ clip: String) throws {
        let entry = try #require(try Self.expected()[clip])
        #expect(entry["opened"] as? Bool == false)
        let path = Self.folder.appendingPathComponent(clip).path
        #expect(throws: VideoError.self) { try SampledFrames(path: path, sampling: .everyFrame) }
        do {
            _ = try SampledFrames(path: path, sampling: .everyFrame)
        } catch {
            #expect(error.referenceFailure == "Could not open video \(path)")
        }
    }

    @Test("Sampling keeps frames 0, N, 2N, ... and turns seconds into whole frames as the reference does")
    func samplingIntervals() throws {
        #expect(FrameSampling.everyNthFrame(0).interval(frameRate: 30).frames == 1)
        #expect(FrameSampling.everyNthFrame(10).interval(frameRate: 30).frames == 10)
        #expect(FrameSampling.everySeconds(0.3).interval(frameRate: 25).frames == 7)  // int(7.5)
        #expect(FrameSampling.everySeconds(0.3).interval(frameRate: 20).frames == 6)
        #expect([2, 3, 10, 11, 12, 21, 22, 103].map { FrameSampling.everyNthFrame($0).description }
                == ["every 2nd frame", "every 3rd frame", "every 10th frame", "every 11th frame", "every 12th frame", "every 21st frame",
                    "every 22nd frame", "every 103rd frame"])
        #expect(FrameSampling(serialized: FrameSampling.everySeconds(0.5).serialized) == .everySeconds(0.5))
        #expect(FrameSampling(serialized: "frames:1") == .everyFrame && FrameSampling(serialized: "bogus") == nil)
        let short = FrameSampling.everySeconds(0.01).interval(frameRate: 30)
        #expect(short.frames == 1 && short.warning != nil)
        let frames = try SampledFrames(path: Self.folder.appendingPathComponent("clips/deer_h264.mp4").path, sampling: .everyNthFrame(10))
        var numbers: [Int] = []
        while let (number, _) = frames.next() { numbers.append(number) }
        #expect(numbers == [0, 10, 20])
    }

    /// Thousands of frames decode in one reused buffer: the resident size after 3000 frames is within a
    /// few megabytes of what it was after 300.
    @Test("A 3000-frame clip decodes in flat memory")
    func longClipRunsInFlatMemory() throws {
        let entry = try #require(try Self.expected()["long/long_3000_frames.mp4"])
        let frames = try SampledFrames(path: Self.folder.appendingPathComponent("long/long_3000_frames.mp4").path, sampling: .everyFrame)
        var count = 0
        var residentAt300 = 0
        var last = ""
        while let (_, image) = frames.next() {
            count += 1
            if count == 300 { residentAt300 = Self.residentBytes() }
            if count == 3000 { last = Checksum.md5Hex(image.pixels) }
        }
        let growth = Self.residentBytes() - residentAt300
        #expect(count == 3000)
        #expect(last == (entry["frame_md5"] as? [String])?.last)
        #expect(growth < 8 << 20, "resident memory grew by \(growth) bytes between frame 300 and frame 3000")
    }

    static func residentBytes() -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Int($0) }) else { return 0 }
        return pages * Int(sysconf(Int32(_SC_PAGESIZE)))
    }
}
