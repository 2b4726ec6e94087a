import Foundation
import ResultsFormat
import Diagnostics
import VideoDecoding

/// Checkpoints in the reference's format, `{"checkpoint": [per-image results with absolute paths]}`,
/// so either tool can resume from the other's. Unlike the reference they are written to a temporary
/// file and renamed: a kill during a write leaves the previous checkpoint intact.
public enum Checkpoint {
    /// `precision` goes into a `detector_metadata` entry next to the list (the reference reads only
    /// `checkpoint`), so a resume can refuse to mix precisions or int8 calibrations; so does the clips'
    /// frame sampling when the run has clips, so a resume cannot mix samplings either.
    public static func write(_ results: [ImageResult], precision: PrecisionRecord = .fp32, videoSampling: FrameSampling? = nil,
                             to path: String) throws {
        var metadata = JSONObject(precision.metadataEntries)
        if let videoSampling { metadata["video_sampling"] = .string(videoSampling.serialized.isEmpty ? "frames:1" : videoSampling.serialized) }
        let value = JSONValue.object(JSONObject([("checkpoint", .array(results.map(\.json))), ("detector_metadata", .object(metadata))]))
        // Test hook: widen the window between writing the temporary file and the rename, so a test
        // can kill the process in the middle of a checkpoint write.
        let delay = ProcessInfo.processInfo.environment["MEGADETECTOR_TEST_CHECKPOINT_RENAME_DELAY"].flatMap(Double.init)
        try AtomicFile.write(Data(JSONWriter.serialize(value).utf8), to: path, beforeRename: delay.map { seconds in { Thread.sleep(forTimeInterval: seconds) } })
    }

    public static func read(path: String) throws -> [ImageResult] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsFormatError.unreadable(path: path, reason: "no such checkpoint")
        }
        let value: JSONValue
        do { value = try JSONParser.parse([UInt8](data)) } catch {
            throw ResultsFormatError.invalid(path: path, reason: ErrorMessage.sentence(for: error))
        }
        // Our checkpoints and the reference's are {"checkpoint": [...]}; a full results file
        // ({"images": [...]}) is accepted too.
        guard let list = value.object?["checkpoint"]?.array ?? value.object?["images"]?.array else {
            throw ResultsFormatError.invalid(path: path, reason: "no 'checkpoint' list")
        }
        return try list.map(ImageResult.init(json:))
    }

    /// The precision a checkpoint (or results file) was written with: fp32 when it does not say (the
    /// reference's files, and ours from before precisions existed).
    public static func precision(path: String) throws -> PrecisionRecord {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ResultsFormatError.unreadable(path: path, reason: "no such checkpoint")
        }
        let value = try? JSONParser.parse([UInt8](data))
        let metadata = value?.object?["detector_metadata"]?.object ?? value?.object?["info"]?.object?["detector_metadata"]?.object
        return PrecisionRecord(metadata: metadata)
    }

    /// The clips' frame sampling a checkpoint was written with; nil when it does not say (no clips, the
    /// reference's checkpoints, ours from before clips).
    public static func videoSampling(path: String) -> FrameSampling? {
        guard let data = FileManager.default.contents(atPath: path),
              let text = (try? JSONParser.parse([UInt8](data)))?.object?["detector_metadata"]?.object?["video_sampling"]?.string else { return nil }
        return FrameSampling(serialized: text)
    }

    /// The default checkpoint name next to the output, as the reference names it.
    public static func defaultPath(forOutput output: String, now: Date = Date()) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMddHHmmss"
        let folder = (URL(fileURLWithPath: output).standardizedFileURL.path as NSString).deletingLastPathComponent
        return (folder as NSString).appendingPathComponent("md_checkpoint_\(formatter.string(from: now)).json")
    }

    /// `--resume-from-checkpoint auto`: the newest `md_checkpoint_*.json` in the output's folder.
    public static func latest(forOutput output: String) -> String? {
        let folder = (URL(fileURLWithPath: output).standardizedFileURL.path as NSString).deletingLastPathComponent
        let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
        return names.filter { $0.hasPrefix("md_checkpoint_") && $0.hasSuffix(".json") }.sorted().last
            .map { (folder as NSString).appendingPathComponent($0) }
    }
}
