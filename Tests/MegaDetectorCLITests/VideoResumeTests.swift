import Foundation
import ResultsFormat
import Testing
import TestSupport

/// Clips are checkpointed whole: a run killed or interrupted in the middle of a clip resumes without
/// redoing the clips it finished, redoes the one it was in, and ends with the file an uninterrupted
/// run writes.
extension ResumeTests {
    func videoArguments(output: String, checkpoint: String, resume: Bool) -> [String] {
        // Every frame, so the run lasts long enough (about a hundred frames) to be stopped mid-clip.
        ["detect", Self.model, VideoDetectTests.clips.path, output, "--recursive", "--output-relative-filenames",
         "--checkpoint-frequency", "1", "--checkpoint-path", checkpoint] + (resume ? ["--resume-from-checkpoint", checkpoint] : [])
    }

    func videoBaseline() throws -> ResultsFile {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("video-baseline.json").path
        let result = try Fixtures.runCLI(videoArguments(output: output, checkpoint: folder.appendingPathComponent("vb.ckpt.json").path, resume: false) + ["--quiet"])
        #expect(result.status == 0, "\(result.stderr)")
        return try ResultsFile.read(path: output)
    }

    /// The checkpoint's entries, each of which must be a whole clip as the baseline has it.
    static func checkpointEntries(_ path: String) throws -> [ImageResult] {
        try JSONParser.parse([UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))).object?["checkpoint"]?.array?.map(ImageResult.init(json:)) ?? []
    }

    @Test(arguments: [SIGKILL, SIGINT]) func videoRunStoppedMidClipResumesWithoutRedoingFinishedClips(_ signal: Int32) async throws {
        let expected = try videoBaseline()
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("video-stopped.json").path
        let checkpoint = folder.appendingPathComponent("video-stopped.ckpt.json").path
        let process = try start(videoArguments(output: output, checkpoint: checkpoint, resume: false))
        try await self.signal(signal, to: process) { try Self.checkpointCount(checkpoint) >= 2 || !process.isRunning }
        process.waitUntilExit()
        #expect(process.terminationStatus == (signal == SIGKILL ? SIGKILL : 130), "the run ended before the signal")
        let saved = try Self.checkpointEntries(checkpoint)
        #expect(saved.count >= 2 && saved.count < expected.images.count)
        // Whole clips only: each saved entry is the baseline's entry for that clip (absolute path there).
        let base = VideoDetectTests.clips.path + "/"
        for entry in saved {
            let baselineEntry = expected.images.first { base + $0.file == entry.file }
            #expect(baselineEntry != nil && baselineEntry?.framesProcessed == entry.framesProcessed, "\(entry.file) saved partially")
        }
        let finish = try Fixtures.runCLI(videoArguments(output: output, checkpoint: checkpoint, resume: true))
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(finish.stderr.contains("Resuming: \(saved.count) of \(expected.images.count) images already done"), "\(finish.stderr)")
        try expectSameImages(output, expected)
    }

    /// A checkpoint records its clips' sampling: resuming it with another one is refused (the results
    /// would mix samplings), with the same one (however spelled) it resumes.
    @Test func resumingWithAnotherSamplingIsRefused() throws {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let output = folder.appendingPathComponent("sampled.json").path
        let checkpoint = folder.appendingPathComponent("sampled.ckpt.json").path
        let first = try Fixtures.runCLI(videoArguments(output: output, checkpoint: checkpoint, resume: false) + ["--frame-sample", "10", "--quiet"],
                                        environment: ["MEGADETECTOR_TEST_CHECKPOINT_RENAME_DELAY": "0"])
        #expect(first.status == 0, "\(first.stderr)")
        // The finished run removed its checkpoint; keep a copy of what it would resume from.
        let results = try ResultsFile.read(path: output)
        let entries = results.images.prefix(2).map { image -> JSONValue in
            var copy = image
            copy.file = VideoDetectTests.clips.appendingPathComponent(image.file).path
            return copy.json
        }
        let metadata = JSONObject([("video_sampling", .string("frames:10"))])
        try Data(JSONWriter.serialize(.object(JSONObject([("checkpoint", .array(entries)), ("detector_metadata", .object(metadata))]))).utf8)
            .write(to: URL(fileURLWithPath: checkpoint))
        let refused = try Fixtures.runCLI(videoArguments(output: output, checkpoint: checkpoint, resume: true) + ["--frame-sample", "5"])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("its clips were sampled every 10th frame, this run asks for every 5th frame"), "\(refused.stderr)")
        let resumed = try Fixtures.runCLI(videoArguments(output: output, checkpoint: checkpoint, resume: true) + ["--frame-sample", "10"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        #expect(resumed.stderr.contains("Resuming: 2 of 8 images already done"), "\(resumed.stderr)")
        #expect(try ResultsFile.read(path: output).images == results.images)
    }
}
