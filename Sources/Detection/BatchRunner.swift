import Engine
import Foundation
import Imaging
import ModelFormats
import ResultsFormat
import Diagnostics
import VideoDecoding

/// What a batch run covers and how it records its work.
public struct BatchRequest: Sendable {
    /// Absolute paths of the photos, in output order.
    public var imagePaths: [String]
    /// When set, file names in the results are relative to this folder.
    public var relativeBase: String?
    public var outputPath: String
    /// Name recorded as `info.detector` (the model file's base name, or the model name given).
    public var detectorName: String
    public var detectorMetadata: JSONObject
    public var detectionCategories: [(String, String)] = ResultsFile.megadetectorCategories
    public var includeImageSize = false
    public var includeImageTimestamp = false
    public var includeExifTags: [String]?
    public var checkpointPath: String?
    /// Write a checkpoint after this many newly processed photos (nil: never).
    public var checkpointFrequency: Int?
    /// Results already known (from a checkpoint or a previous results file), by absolute path.
    public var knownResults: [ImageResult] = []
    /// Which frames of the clips among `imagePaths` the detector sees (the reference's default: all).
    public var videoSampling: FrameSampling = .everyFrame

    public init(imagePaths: [String], relativeBase: String?, outputPath: String, detectorName: String, detectorMetadata: JSONObject) {
        self.imagePaths = imagePaths
        self.relativeBase = relativeBase
        self.outputPath = outputPath
        self.detectorName = detectorName
        self.detectorMetadata = detectorMetadata
    }
}

public enum BatchOutcome: Sendable {
    case completed(processed: Int, reused: Int, failures: Int, seconds: Double)
    case interrupted(processed: Int, checkpoint: String?)
}

/// A photo read and letterboxed by the decoding stage, or why it could not be.
struct PreparedImage: Sendable {
    var path: String
    var input: Result<(tensor: Tensor, width: Int, height: Int, exif: ExifMetadata?), ImagingError>
}

/// Runs the detector over many photos: decoding overlaps inference through a small bounded queue,
/// failures become records, progress is checkpointed, and a stop request ends the run cleanly at a
/// photo boundary with a checkpoint written.
public final class BatchRunner: @unchecked Sendable {
    // Safety: `stopRequested` is only written through `requestStop()` (from a signal handler queue)
    // and read by the single consumer loop; a lock guards it.
    private let lock = NSLock()
    private var stopRequested = false
    private var signal: Int32?
    public let detector: Detector
    public let progress: ProgressReporter
    /// Queue depth between decoding and inference (each slot holds one letterboxed input, ~15 MB at 1280).
    public var queueCapacity = 3

    public init(detector: Detector, progress: ProgressReporter) {
        self.detector = detector
        self.progress = progress
    }

    /// Asks the run to stop after the photo in progress (from a signal handler, for example).
    public func requestStop(signal: Int32? = nil) {
        lock.lock()
        stopRequested = true
        self.signal = signal
        lock.unlock()
    }

    /// The signal that stopped the run, if one did.
    public var stopSignal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return signal
    }

    var shouldStop: Bool {
        lock.lock()
        defer { lock.unlock() }
        return stopRequested
    }

    public func run(_ request: BatchRequest) async throws -> BatchOutcome {
        let start = Date()
        let wanted = Set(request.imagePaths)
        var results: [String: ImageResult] = [:]
        for known in request.knownResults where wanted.contains(known.file) { results[known.file] = known }
        let reused = results.count
        let todo = request.imagePaths.filter { results[$0] == nil }
        progress.begin(total: request.imagePaths.count, alreadyDone: reused)
        let configuration = detector.configuration
        let channel = BoundedChannel<DecodedWork>(capacity: queueCapacity)
        var processed = 0, failures = 0, sinceCheckpoint = 0
        let sampling = request.videoSampling
        // Recorded in checkpoints of runs with clips.
        let clipSampling = request.imagePaths.contains(where: VideoFiles.isVideo) ? sampling : nil
        let interrupted: Bool = try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for path in todo {
                    if Task.isCancelled { break }
                    await Self.decode(path, as: path, sampling: sampling, configuration: configuration, to: channel)
                }
                await channel.finish()
            }
            defer { group.cancelAll() }
            var clips = ClipAssembler()
            while let work = await channel.receive() {
                // A stop request inside a clip drops its frames (the clip is redone on resume), so a clip
                // is recorded whole or not at all.
                guard let (path, result) = clips.take(work, runner: self, request: request) else {
                    if self.shouldStop {
                        await channel.finish()
                        return true
                    }
                    continue
                }
                if result.failure != nil { failures += 1 }
                results[path] = result
                processed += 1
                sinceCheckpoint += 1
                self.progress.advance(file: path, failed: result.failure != nil)
                if let frequency = request.checkpointFrequency, let path = request.checkpointPath, sinceCheckpoint >= frequency {
                    try Checkpoint.write(Self.ordered(results, request.imagePaths), precision: self.detector.precision, videoSampling: clipSampling, to: path)
                    sinceCheckpoint = 0
                    self.progress.note("Checkpoint written to \(path) (\(results.count) images)")
                }
                if self.shouldStop {
                    await channel.finish()
                    return true
                }
            }
            return false
        }
        if interrupted {
            if let path = request.checkpointPath { try Checkpoint.write(Self.ordered(results, request.imagePaths), precision: self.detector.precision, videoSampling: clipSampling, to: path) }
            progress.end()
            return .interrupted(processed: processed, checkpoint: request.checkpointPath)
        }
        var images = Self.ordered(results, request.imagePaths)
        if let base = request.relativeBase {
            images = images.map { var copy = $0; copy.file = ImageEnumerator.relative($0.file, to: base); return copy }
        }
        // fp32 files stay exactly as before (and as the reference writes them); other precisions say so.
        var metadata = request.detectorMetadata
        if detector.precision.precision != .fp32 { for (key, value) in detector.precision.metadataEntries { metadata[key] = value } }
        let info = ResultsFile.info(detector: request.detectorName, metadata: metadata)
        try ResultsFile(images: images, detectionCategories: request.detectionCategories, info: info).write(to: request.outputPath)
        if let path = request.checkpointPath, FileManager.default.fileExists(atPath: path) {
            try? FileManager.default.removeItem(atPath: path)
        }
        progress.end()
        return .completed(processed: processed, reused: reused, failures: failures, seconds: Date().timeIntervalSince(start))
    }

    static func ordered(_ results: [String: ImageResult], _ order: [String]) -> [ImageResult] {
        order.compactMap { results[$0] }
    }

    /// Decoding stage: read, decode, rotate, letterbox. Runs concurrently with inference.
    static func prepare(_ path: String, configuration: DetectorConfiguration) -> PreparedImage {
        do {
            let decoded = try ImageDecoder.decode(path: path)
            let tensor = configuration.networkInput(decoded.image)
            return PreparedImage(path: path, input: .success((tensor, decoded.image.width, decoded.image.height, decoded.exif)))
        } catch let error as ImagingError {
            return PreparedImage(path: path, input: .failure(error))
        } catch {
            return PreparedImage(path: path, input: .failure(.unreadable(path: path, reason: ErrorMessage.sentence(for: error))))
        }
    }

    /// One photo's record as `run` writes it, for callers that schedule photos themselves (the batch
    /// service's workers); no optional size/timestamp/EXIF fields.
    public func record(for path: String) -> ImageResult {
        infer(Self.prepare(path, configuration: detector.configuration), request: nil)
    }

    /// Records for `references` in order, as `record(for:)` makes them, decoding the next photos while
    /// the current one is inferred (as `run` does). `localFile` turns a reference into a file to read
    /// (a download for a URL; `isTemporary` files are removed once decoded; nil: the photo cannot be
    /// had, an image access failure). `visit` gets each record, under the reference's name, and
    /// returns false to stop early.
    /// Clips among `references` give one entry each, their frames sampled by `videoSampling`.
    public func records(for references: [String], videoSampling: FrameSampling = .everyFrame,
                        localFile: @escaping @Sendable (String) -> (path: String, isTemporary: Bool)?,
                        visit: (ImageResult) async throws -> Bool) async throws {
        let configuration = detector.configuration
        let channel = BoundedChannel<DecodedWork>(capacity: queueCapacity)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                for reference in references {
                    if Task.isCancelled { break }
                    guard let local = localFile(reference) else {
                        let failure: DecodedWork = VideoFiles.isVideo(reference)
                            ? .videoEnd(path: reference, frameRate: -1, failure: .unopenable(path: reference, reason: "cannot be fetched"), warning: nil)
                            : .photo(PreparedImage(path: reference, input: .failure(.unreadable(path: reference, reason: "cannot be fetched"))))
                        await channel.send(failure)
                        continue
                    }
                    await Self.decode(local.path, as: reference, sampling: videoSampling, configuration: configuration, to: channel)
                    if local.isTemporary { try? FileManager.default.removeItem(atPath: local.path) }
                }
                await channel.finish()
            }
            defer { group.cancelAll() }
            var clips = ClipAssembler()
            while let work = await channel.receive() {
                guard let (_, entry) = clips.take(work, runner: self, request: nil) else { continue }
                guard try await visit(entry) else {
                    await channel.finish()
                    return
                }
            }
        }
    }

    /// Inference stage: one photo's result record (failures are data, never thrown).
    func infer(_ item: PreparedImage, request: BatchRequest?) -> ImageResult {
        switch item.input {
        case let .failure(error):
            progress.note("Image \(item.path) cannot be loaded: \(ErrorMessage.sentence(for: error))")
            return ImageResult(file: item.path, failure: FailureKind.imageAccess)
        case let .success(input):
            var result: ImageResult
            do {
                result = ImageResult(file: item.path, detections: try detector.detect(tensor: input.tensor, imageWidth: input.width,
                                                                                   imageHeight: input.height))
            } catch {
                // As the reference: the photo was read, so its size, time and EXIF tags are still recorded.
                progress.note("Inference failed for \(item.path): \(ErrorMessage.sentence(for: error))")
                result = ImageResult(file: item.path, failure: FailureKind.inference)
            }
            guard let request else { return result }
            if request.includeImageSize {
                result.width = input.width
                result.height = input.height
            }
            if request.includeImageTimestamp {
                result.datetime = .some(input.exif?.dateTimeOriginal.flatMap(Self.validTimestamp))
            }
            if let tags = request.includeExifTags {
                let available = input.exif?.tags ?? [:]
                result.exifMetadata = tags.compactMap { tag in available[tag].map { (tag, $0) } }
            }
            return result
        }
    }

    /// The reference keeps DateTimeOriginal only when it parses as `%Y:%m:%d %H:%M:%S`.
    static func validTimestamp(_ text: String) -> String? {
        let parts = text.split(separator: " ")
        guard parts.count == 2 else { return nil }
        let date = parts[0].split(separator: ":"), time = parts[1].split(separator: ":")
        guard date.count == 3, time.count == 3, date.allSatisfy({ Int($0) != nil }), time.allSatisfy({ Int($0) != nil }),
              let month = Int(date[1]), (1...12).contains(month), let day = Int(date[2]), (1...31).contains(day),
              let hour = Int(time[0]), (0...23).contains(hour), let minute = Int(time[1]), (0...59).contains(minute),
              let second = Int(time[2]), (0...61).contains(second) else { return nil }
        return text
    }
}

/// The reference's failure strings (readers such as Timelapse match them).
public enum FailureKind {
    public static let imageAccess = "image access failure"
    public static let inference = "inference failure"
}

extension DetectorConfiguration {
    /// The network input for a photo: the graph's own resize for a MegaDetector v2-v4 graph, else the
    /// letterbox below.
    public func networkInput(_ image: RGBImage) -> Tensor {
        if let tensorFlowPreprocessor { return tensorFlowPreprocessor.preprocess(image) }
        return preprocess(image).tensor
    }

    /// The letterboxed network input for a photo (the exact pixels the reference feeds the network).
    public func preprocess(_ image: RGBImage) -> (tensor: Tensor, letterbox: Letterbox) {
        let letterbox = fixedInputSize.map { Letterbox(sourceWidth: image.width, sourceHeight: image.height, fixedWidth: $0.width, fixedHeight: $0.height) }
            ?? Letterbox(sourceWidth: image.width, sourceHeight: image.height, size: imageSize, stride: stride)
        let boxed = letterbox.apply(to: image)
        return (Tensor(shape: [1, 3, boxed.height, boxed.width], values: Letterbox.tensorValues(boxed)), letterbox)
    }
}
