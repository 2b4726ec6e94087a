import ArgumentParser
import Classification
import Detection
import Diagnostics
import Foundation
import VideoDecoding

/// `detect --output-format speciesnet`: speciesnet's own run and output (`run_model`), with
/// MegaDetector from MODEL as its detector.
extension DetectCommand {
    enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
        case md, speciesnet
    }

    /// What speciesnet's pipeline does not take, refused rather than silently ignored.
    func speciesNetConflicts() -> [String] {
        var options: [String] = []
        if classifier == nil { options.append("no --classifier (speciesnet output needs one)") }
        if frameSample != nil || timeSample != nil { options.append("--frame-sample/--time-sample (speciesnet takes photos only)") }
        if checkpointFrequency != nil || checkpointPath != nil || resumeFromCheckpoint != nil {
            options.append("checkpoint options (an existing OUTPUT is resumed instead; --ignore-existing-predictions starts again)")
        }
        if previousResults != nil { options.append("--previous-results") }
        if outputRelativeFilenames { options.append("--output-relative-filenames (speciesnet names photos as INPUT/relative/path)") }
        if includeImageSize || includeImageTimestamp || includeExifTags != nil { options.append("--include-image-* options") }
        if augment { options.append("--augment") }
        if classMapping != nil { options.append("--class-mapping") }
        if threshold != nil { options.append("--threshold (speciesnet's detector keeps boxes above 0.01)") }
        return options
    }

    /// --precision reaches the detector only: the classifier runs in fp32 (see the README's species
    /// section for why), and a user who asked for int8 or bf16 is told rather than left to assume.
    func noteClassifierPrecision() {
        guard precisionOptions.precision != .fp32, !quiet else { return }
        FileHandle.standardError.write(Data("--precision \(precisionOptions.precision.rawValue) applies to the detector; the classifier runs in fp32\n".utf8))
    }

    func runSpeciesNet() throws {
        let conflicts = speciesNetConflicts()
        guard conflicts.isEmpty else { throw ValidationError("--output-format speciesnet does not take " + conflicts.joined(separator: "; ")) }
        if admin1Region != nil, country == nil { throw ValidationError("--admin1-region needs --country") }
        if let country, country.count != 3 { throw SpeciesNetGeofence.InvalidRegion(code: country) }
        engine.apply()
        let instances = try SpeciesNetInputs.instances(in: input).map { $0.enforcing(country: country, admin1Region: admin1Region) }
        let filepaths = instances.map(\.filepath)
        let clips = filepaths.filter(VideoFiles.isVideo).count
        if clips > 0 { throw ValidationError("--output-format speciesnet takes photos only; \(clips) of the inputs are clips") }
        let detector = try Detector.load(path: try ModelRegistry.resolve(model), backend: engine.backend, threshold: SpeciesNetPredictionRun.detectorThreshold,
                                         imageSize: imageSize, precision: try precisionOptions.request(photos: filepaths))
        let folder = try SpeciesNetModels.resolve(classifier ?? "", cacheFolder: ModelRegistry.cacheFolder)
        noteClassifierPrecision()
        let speciesNet = try SpeciesNetClassifier(folder: folder, backend: engine.backend)
        let ensemble = SpeciesNetEnsemble(taxonomy: try SpeciesNetTaxonomy(file: speciesNet.folder.taxonomyPath),
                                          geofence: try SpeciesNetGeofence(file: speciesNet.folder.geofencePath), geofenceEnabled: !noGeofence)
        var options = SpeciesNetPredictionRun.Options()
        options.detectionThreshold = detectionThresholdForClassification
        options.maxClassificationsPerImage = maxClassificationsPerImage
        options.maxClassificationsPerDetection = maxClassificationsPerDetection
        let run = SpeciesNetPredictionRun(detector: detector, classifier: speciesNet, ensemble: ensemble, options: options)
        if !quiet { FileHandle.standardError.write(Data("\(filepaths.count) image files found in the input\n".utf8)) }
        let stop = StopRequest()
        let signals = Self.installSignalHandlers { signal in stop.request(signal) }
        defer { signals.forEach { $0.cancel() } }
        let started = Date()
        let outcome = try run.run(instances: instances, output: output, resume: !ignoreExistingPredictions,
                                  shouldStop: { stop.signal != nil }, progress: ProgressReporter(quiet: quiet))
        switch outcome {
        case let .completed(processed, reused):
            let seconds = Date().timeIntervalSince(started)
            print("Finished speciesnet predictions for \(processed + reused) images (\(reused) kept from \(output)) in \(ProgressReporter.duration(seconds))")
            print("Output file saved at \(output)")
        case let .interrupted(processed):
            FileHandle.standardError.write(Data("Interrupted after \(processed) new images; \(output) holds them. Run the same command again to go on.\n".utf8))
            throw ExitCode(128 + (stop.signal ?? SIGINT))
        }
    }
}

/// The first stop signal received, read by the photo loop between photos.
final class StopRequest: @unchecked Sendable {
    // Safety: `received` is only touched under `lock`.
    private let lock = NSLock()
    private var received: Int32?

    func request(_ signal: Int32) {
        lock.lock()
        defer { lock.unlock() }
        if received == nil { received = signal }
    }

    var signal: Int32? {
        lock.lock()
        defer { lock.unlock() }
        return received
    }
}
