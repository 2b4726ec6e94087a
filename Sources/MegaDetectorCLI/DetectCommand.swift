import ArgumentParser
import Detection
import Dispatch
import Engine
import Foundation
import ModelFormats
import ResultsFormat
import Diagnostics
import VideoDecoding
import Classification

struct DetectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "detect",
        abstract: "Run MegaDetector over photos and clips and write a MegaDetector results file (run_detector_batch, process_video).",
        discussion: """
        INPUT is a folder, one image or clip, a .json list or a .txt list. Clips (.mp4 .avi .mpeg .mpg .mov \
        .mkv .flv) get one entry each, as the reference's process_video writes it: frame_rate, \
        frames_processed, and detections carrying frame_number; --frame-sample / --time-sample choose the \
        frames (default: every frame, as the reference). MODEL is a .pt/.onnx file \
        or a known name (MDV5A, MDV5B, ...), resolved through an environment variable of the same name, \
        then the model cache folder, then a download with its MD5 checked.

        Log lines (stderr) that other programs may parse: "N image files found in the input directory", \
        "Resuming from checkpoint PATH", "No checkpoint found next to OUTPUT; starting from the beginning", \
        "Image PATH cannot be loaded: REASON", "Processed N of M images (R images per second, ETA T)", \
        "Checkpoint written to PATH (N images)", "N video files found in the input directory", \
        "Video PATH cannot be processed: REASON", "Interrupted after N new images; checkpoint written to PATH. \
        Resume with: COMMAND" and, on stdout, "Output file OUTPUT exists, skipping", "Finished inference for N \
        images in T (X images per second)" (N counts every image in the results, resumed ones included, as \
        the reference does) and "Output file saved at PATH".
        """
    )

    @Argument(help: "Model file or known model name.") var model: String
    @Argument(help: "Folder, image, .json or .txt list.") var input: String
    @Argument(help: "Results file to write (.json).") var output: String

    @Flag(help: "Search subfolders.") var recursive = false
    @Flag(help: "Write file names relative to the input folder (what Timelapse needs).") var outputRelativeFilenames = false
    @Option(help: "Keep detections with confidence at least this (default 0.005; for clips too: process_video's --json_confidence_threshold).") var threshold: Double?
    @Option(help: "SpeciesNet model (folder, SPECIESNET or kaggle:google/speciesnet/pyTorch/VERSION): adds species labels to detections >= 0.1 (run_md_and_speciesnet).") var classifier: String?
    @Option(help: "With --classifier: country for geofencing (ISO 3166-1 alpha-3).") var country: String?
    @Option(help: "With --classifier and --country: region for geofencing (e.g. CA).") var admin1Region: String?
    @Option(help: "With --classifier: classify detections at least this confident.") var detectionThresholdForClassification: Double = 0.1
    @Option(help: "md: a MegaDetector results file; speciesnet: speciesnet's own predictions.json (run_model: its detector settings, boxes above 0.01, and its ensemble's processed_classification per box; needs --classifier; photos only).") var outputFormat: OutputFormat = .md
    @Flag(help: "With --output-format speciesnet: start again instead of keeping the entries of an existing OUTPUT (speciesnet's default is to keep them).") var ignoreExistingPredictions = false
    @Flag(help: "With --output-format speciesnet: no geofencing in the ensemble (speciesnet's --nogeofence).") var noGeofence = false
    @Option(help: "With --output-format speciesnet: classify at most this many boxes per photo, the most confident.") var maxClassificationsPerImage: Int?
    @Option(help: "With --output-format speciesnet: classes reported per box (speciesnet's default 2; the ensemble sees 5).") var maxClassificationsPerDetection: Int = 2
    @Option(help: "Clips: process every Nth frame, starting with the first (default: every frame).") var frameSample: Int?
    @Option(help: "Clips: process a frame every S seconds (turned into whole frames per clip, as the reference does).") var timeSample: Double?
    @Option(help: "Long side of the network input (default: the model's, 1280 for MDv5).") var imageSize: Int?
    @Flag(help: "YOLOv5 test-time augmentation (scales 1, 0.83 flipped, 0.67; about 2.3x slower).") var augment = false
    @Flag(help: "Record each image's width and height.") var includeImageSize = false
    @Flag(help: "Record each image's EXIF DateTimeOriginal.") var includeImageTimestamp = false
    @Option(help: "Comma-separated EXIF tags to record (e.g. Make,Model).") var includeExifTags: String?
    @Option(help: "JSON file mapping class indices to names, for YOLO models that are not MegaDetector.") var classMapping: String?
    @Option(help: "If OUTPUT exists: overwrite, skip or error.") var overwriteHandling: OverwriteHandling = .overwrite
    @Option(help: "A results file whose entries are reused for the images it covers.") var previousResults: String?
    @Option(help: "Write a checkpoint every N images.") var checkpointFrequency: Int?
    @Option(help: "Checkpoint file (default: md_checkpoint_<time>.json next to OUTPUT).") var checkpointPath: String?
    @Option(help: "Resume from a checkpoint: a path, or 'auto' for the newest next to OUTPUT.") var resumeFromCheckpoint: String?
    @Flag(help: "Only print errors and the final lines.") var quiet = false
    @OptionGroup var engine: EngineOptions
    @OptionGroup var precisionOptions: PrecisionOptions

    enum OverwriteHandling: String, ExpressibleByArgument {
        case overwrite, skip, error
    }

    func run() async throws {
        var stopped = false
        try reportingErrors {
            if FileManager.default.fileExists(atPath: output) {
                switch overwriteHandling {
                case .skip:
                    print("Output file \(output) exists, skipping")
                    stopped = true
                    return
                case .error: throw ValidationError("output file \(output) exists (--overwrite-handling error)")
                case .overwrite: break
                }
            }
        }
        if stopped { return }
        if outputFormat == .speciesnet {
            try reportingErrors { try runSpeciesNet() }
            return
        }
        engine.apply()
        let modelPath: String
        let detector: Detector
        var request: BatchRequest
        let mapping = try loadClassMapping()
        do {
            modelPath = try ModelRegistry.resolve(model)
            let sampling = try FrameSampling.parse(frameSample: frameSample, timeSample: timeSample)
            let (paths, base) = try ImageEnumerator.images(in: input, recursive: recursive, includeVideos: true)
            let videoCount = paths.filter(VideoFiles.isVideo).count
            detector = try Detector.load(path: modelPath, backend: engine.backend, threshold: threshold ?? 0.005, imageSize: imageSize,
                                         classMapping: mapping?.indices, augment: augment,
                                         precision: try precisionOptions.request(photos: paths.filter { !VideoFiles.isVideo($0) }))
            if !quiet {
                FileHandle.standardError.write(Data("\(paths.count - videoCount) image files found in the input directory\n".utf8))
                if videoCount > 0 { FileHandle.standardError.write(Data("\(videoCount) video files found in the input directory\n".utf8)) }
            }
            // One clip as INPUT is named relative to its folder, as process_video writes it.
            let singleClip = base == nil && paths.count == 1 && VideoFiles.isVideo(input) && paths[0] == URL(fileURLWithPath: input).standardizedFileURL.path
            if outputRelativeFilenames, base == nil, !singleClip {
                throw ValidationError("--output-relative-filenames needs a folder as INPUT")
            }
            let version = ModelRegistry.version(fromFileName: modelPath)
            let relativeBase = singleClip ? (paths[0] as NSString).deletingLastPathComponent : outputRelativeFilenames ? base : nil
            request = BatchRequest(imagePaths: paths, relativeBase: relativeBase, outputPath: output,
                                   detectorName: URL(fileURLWithPath: modelPath).lastPathComponent,
                                   detectorMetadata: ModelRegistry.detectorMetadata(version: version))
            request.includeImageSize = includeImageSize
            request.includeImageTimestamp = includeImageTimestamp
            request.includeExifTags = includeExifTags?.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            request.checkpointFrequency = checkpointFrequency
            request.videoSampling = sampling
            var resumedFrom: String?
            if let resume = resumeFromCheckpoint {
                resumedFrom = resume == "auto" ? Checkpoint.latest(forOutput: output) : resume
                if let resumedFrom {
                    if let conflict = detector.precision.resumeConflict(with: try Checkpoint.precision(path: resumedFrom)) {
                        throw ValidationError("cannot resume from \(resumedFrom): \(conflict)")
                    }
                    // `serialized` is the same for equal samplings however they were spelled (0, 1: every frame).
                    if let recorded = Checkpoint.videoSampling(path: resumedFrom), recorded.serialized != sampling.serialized {
                        throw ValidationError("cannot resume from \(resumedFrom): its clips were sampled \(recorded), this run asks for \(sampling); give the same --frame-sample/--time-sample")
                    }
                    request.knownResults = try Checkpoint.read(path: resumedFrom)
                    if !quiet { FileHandle.standardError.write(Data("Resuming from checkpoint \(resumedFrom)\n".utf8)) }
                } else if !quiet {
                    FileHandle.standardError.write(Data("No checkpoint found next to \(output); starting from the beginning\n".utf8))
                }
            }
            request.checkpointPath = checkpointPath ?? resumedFrom ?? Checkpoint.defaultPath(forOutput: output)
            for path in [request.checkpointPath, output].compactMap({ $0 }) { AtomicFile.removeLeftovers(of: path) }
            if let previousResults {
                request.knownResults += try Self.previous(previousResults, base: base)
            }
        } catch {
            FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
        let classification: DetectionClassification?
        do {
            classification = try loadClassification()
        } catch {
            FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
        let runner = BatchRunner(detector: detector, progress: ProgressReporter(quiet: quiet))
        request.detectionCategories = mapping?.categories ?? ResultsFile.megadetectorCategories
        let signals = Self.installSignalHandlers { signal in runner.requestStop(signal: signal) }
        defer { signals.forEach { $0.cancel() } }
        let outcome: BatchOutcome
        do {
            outcome = try await runner.run(request)
        } catch {
            FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
        switch outcome {
        case let .completed(processed, reused, _, seconds):
            // As the reference: every image in the results, resumed ones included.
            let total = processed + reused
            let rate = seconds > 0 ? Double(total) / seconds : 0
            print("Finished inference for \(total) images in \(ProgressReporter.duration(seconds)) (\(String(format: "%.2f", rate)) images per second)")
            if let classification {
                do {
                    try classify(with: classification, base: request.relativeBase)
                } catch {
                    FileHandle.standardError.write(Data("error: classification: \(ErrorMessage.sentence(for: error)) (the detections are in \(output))\n".utf8))
                    throw ExitCode(1)
                }
            }
            print("Output file saved at \(output)")
        case let .interrupted(processed, checkpoint):
            let resume = Self.resumeCommand(checkpoint: checkpoint)
            FileHandle.standardError.write(Data("Interrupted after \(processed) new images; checkpoint written to \(checkpoint ?? "-"). Resume with: \(resume)\n".utf8))
            throw ExitCode(128 + (runner.stopSignal ?? SIGINT))
        }
    }

    /// --classifier and its geofence options, loaded before any photo is read so a missing model fails fast.
    func loadClassification() throws -> DetectionClassification? {
        if ignoreExistingPredictions || noGeofence || maxClassificationsPerImage != nil {
            throw ValidationError("--ignore-existing-predictions, --no-geofence and --max-classifications-per-image go with --output-format speciesnet")
        }
        guard let classifier else {
            if country != nil || admin1Region != nil { throw ValidationError("--country and --admin1-region need --classifier") }
            return nil
        }
        if admin1Region != nil, country == nil { throw ValidationError("--admin1-region needs --country") }
        let folder = try SpeciesNetModels.resolve(classifier, cacheFolder: ModelRegistry.cacheFolder)
        noteClassifierPrecision()
        var options = DetectionClassification.Options()
        options.country = country
        options.admin1Region = admin1Region
        options.detectionThreshold = detectionThresholdForClassification
        return try DetectionClassification(classifier: try SpeciesNetClassifier(folder: folder, backend: engine.backend), options: options)
    }

    /// The second step of run_md_and_speciesnet: species labels for the detections just written.
    func classify(with classification: DetectionClassification, base: String?) throws {
        var results = try ResultsFile.read(path: output)
        results = try classification.run(results, photo: { file in
            file.hasPrefix("/") || base == nil ? file : (base! as NSString).appendingPathComponent(file)
        }, log: { message in if !quiet { FileHandle.standardError.write(Data((message + "\n").utf8)) } })
        let count = DetectionClassification.record(classifier: classifier ?? "", in: &results)
        try results.write(to: output)
        print("Classified \(count) detections into \(results.classificationCategories?.count ?? 0) species categories")
    }

    /// The same command line with --resume-from-checkpoint pointing at the checkpoint just written.
    static func resumeCommand(checkpoint: String?) -> String {
        var arguments = CommandLine.arguments
        if let index = arguments.firstIndex(of: "--resume-from-checkpoint"), index + 1 < arguments.count {
            arguments.removeSubrange(index...(index + 1))
        }
        arguments += ["--resume-from-checkpoint", checkpoint ?? "auto"]
        return arguments.map { $0.contains(" ") ? "'\($0)'" : $0 }.joined(separator: " ")
    }

    static func installSignalHandlers(_ handler: @escaping @Sendable (Int32) -> Void) -> [DispatchSourceSignal] {
        [SIGINT, SIGTERM].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
            source.setEventHandler { handler(number) }
            source.resume()
            return source
        }
    }

    /// Entries of a previous results file, with names made absolute against the input folder.
    static func previous(_ path: String, base: String?) throws -> [ImageResult] {
        try ResultsFile.read(path: path).images.map { image in
            var copy = image
            if !image.file.hasPrefix("/"), let base { copy.file = (base as NSString).appendingPathComponent(image.file) }
            return copy
        }
    }

    /// --class-mapping: {"0": "cat", "1": "dog"} -> index -> key "0", "1" and the categories to write.
    func loadClassMapping() throws -> (indices: [Int: String], categories: [(String, String)])? {
        guard let classMapping else { return nil }
        do {
            let file = try ResultsFile.readJSONObject(path: classMapping)
            var indices: [Int: String] = [:]
            var categories: [(String, String)] = []
            for entry in file.entries {
                guard let index = Int(entry.key), let name = entry.value.string else {
                    throw ValidationError("class mapping entries must be \"<index>\": \"<name>\"")
                }
                indices[index] = entry.key
                categories.append((entry.key, name))
            }
            return (indices, categories)
        } catch {
            FileHandle.standardError.write(Data("error: --class-mapping \(classMapping): \(ErrorMessage.sentence(for: error))\n".utf8))
            throw ExitCode(1)
        }
    }
}
