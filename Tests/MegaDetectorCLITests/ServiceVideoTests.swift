import Foundation
import ResultsFormat
import Testing
import TestSupport

/// Jobs take clips like photos: a folder mixing both gives the entries `detect` gives, with the job's
/// frame sampling; conflicting sampling fields are refused.
struct ServiceVideoTests {
    @Test func jobsWithClipsGiveWhatDetectGives() async throws {
        let server = try ServeCommandTests.Server()
        try await server.waitUntilUp()
        let clips = server.folder.appendingPathComponent("clips")
        try FileManager.default.createDirectory(at: clips, withIntermediateDirectories: true)
        for name in ["deer_h264.mp4", "coyote_mjpeg.avi", "not_a_video.mp4"] {
            try FileManager.default.copyItem(at: VideoDetectTests.clips.appendingPathComponent(name), to: clips.appendingPathComponent(name))
        }
        let photo = DetectCommandTests.fixtures.appendingPathComponent("synthetic/portrait_600x900.jpg")
        try FileManager.default.copyItem(at: photo, to: clips.appendingPathComponent("portrait.jpg"))

        let refused = try await server.request("POST", "/v1/jobs", body: #"{"folder": "\#(clips.path)", "frame_sample": 10, "time_sample": 1}"#)
        #expect(refused.0 == 400)
        let (status, created, _) = try await server.request("POST", "/v1/jobs", body: #"{"folder": "\#(clips.path)", "frame_sample": 10}"#)
        #expect(status == 201, "\(String(describing: created))")
        #expect(created?.object?["video_sampling"]?.string == "every 10th frame")
        let id = try #require(created?.object?["id"]?.string)
        _ = try await server.waitFor(job: id, status: "completed")
        let (_, _, data) = try await server.request("GET", "/v1/jobs/\(id)/results")
        let servedPath = server.folder.appendingPathComponent("served-video.json")
        try data.write(to: servedPath)
        let served = try ResultsFile.read(path: servedPath.path)

        let output = server.folder.appendingPathComponent("detect-video.json").path
        let detect = try Fixtures.runCLI(["detect", ServeCommandTests.model, clips.path, output, "--frame-sample", "10", "--quiet"])
        #expect(detect.status == 0, "\(detect.stderr)")
        let expected = try ResultsFile.read(path: output)
        #expect(served.images.count == 4)
        // Same entries but for how file names are written (the service's base is its root).
        let byName = { (file: ResultsFile) in Dictionary(uniqueKeysWithValues: file.images.map { (($0.file as NSString).lastPathComponent, $0) }) }
        let servedByName = byName(served), expectedByName = byName(expected)
        #expect(Set(servedByName.keys) == Set(expectedByName.keys))
        for (name, entry) in expectedByName {
            var mine = try #require(servedByName[name])
            mine.file = entry.file
            if name == "not_a_video.mp4" {
                #expect(mine.failure?.hasPrefix("Failure processing video: Could not open video ") == true)
                #expect(mine.frameRate == -1)
            } else {
                #expect(mine == entry, "\(name)")
            }
        }
        #expect(servedByName["deer_h264.mp4"]?.framesProcessed == [0, 10, 20])
    }
}
