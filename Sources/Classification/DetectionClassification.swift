import Foundation
import Imaging
import ResultsFormat
import VideoDecoding

/// Species labels for a MegaDetector results file, as the reference's `run_md_and_speciesnet` adds them
/// (its classification step, `--detections_file`): every detection at or above the threshold (0.1) is
/// cropped (from its photo, or from its frame of a clip) and classified; the top class is geofenced by country and region when one is given, else
/// (or when geofencing left it alone) rolled up the taxonomy to the first level whose summed score
/// passes 0.65; each detection gets `classifications` (and, when asked, `raw_classifications`: the
/// classifier's own top scores), at most `topScores` of each, scores rounded to 3 decimals. Category
/// ids are given in order of first appearance over the file's photos, detections, then classifications
/// and raw ones, keyed by common name, as the reference numbers them.
public struct DetectionClassification {
    public struct Options: Sendable {
        public var detectionThreshold = 0.1
        public var rollUp = true
        public var rollUpTargetConfidence = 0.65
        public var country: String?
        public var admin1Region: String?
        public var topScores = 2
        public var includeRawClassifications = false
        /// speciesnet's `predict` default: the classifier's five best.
        public var classifierTopK = 5

        public init() {}
    }

    public let classifier: SpeciesNetClassifier
    public let taxonomy: SpeciesNetTaxonomy
    public let geofence: SpeciesNetGeofence
    public let options: Options

    public init(classifier: SpeciesNetClassifier, options: Options) throws {
        self.classifier = classifier
        self.options = options
        taxonomy = try SpeciesNetTaxonomy(file: classifier.folder.taxonomyPath)
        geofence = try SpeciesNetGeofence(file: classifier.folder.geofencePath)
        if let country = options.country, country.count != 3 { throw SpeciesNetGeofence.InvalidRegion(code: country) }
    }

    /// One detection's verdict before ids are given: the chosen label and score, and the classifier's top.
    struct Verdict {
        var chosen: (label: String, score: Double)
        var raw: [(label: String, score: Double)]
    }

    /// The classified results. `photo` turns a results entry's file name into a path to read.
    public func run(_ results: ResultsFile, photo: (String) -> String, log: (String) -> Void = { _ in }) throws -> ResultsFile {
        var verdicts: [Int: [Int: Verdict]] = [:]
        for (imageIndex, image) in results.images.enumerated() {
            guard let detections = image.detections, detections.contains(where: { $0.conf >= options.detectionThreshold }) else { continue }
            if image.frameRate != nil || VideoFiles.isVideo(image.file) {
                verdicts[imageIndex] = try clipVerdicts(image, detections: detections, path: photo(image.file), log: log)
                continue
            }
            let picture: RGBImage
            do {
                picture = try ImageDecoder.decode(path: photo(image.file)).image
            } catch {
                // As the reference: a photo that cannot be read keeps its detections unclassified.
                log("Warning: failed to load image \(image.file): \(error)")
                continue
            }
            for (detectionIndex, detection) in detections.enumerated() where detection.conf >= options.detectionThreshold {
                guard let crop = SpeciesNetCrop.crop(picture, bbox: detection.bbox) else { continue }
                let top = try classifier.classify(crop, top: options.classifierTopK)
                verdicts[imageIndex, default: [:]][detectionIndex] = try verdict(for: top)
            }
        }
        return try assign(verdicts, to: results)
    }

    /// A clip's detections (`_process_video_detections`): the frames that hold detections at or above
    /// the threshold are read (as the detector read them), and each detection is cropped from its frame.
    func clipVerdicts(_ entry: ImageResult, detections: [DetectionResult], path: String, log: (String) -> Void) throws -> [Int: Verdict] {
        var byFrame: [Int: [Int]] = [:]
        for (index, detection) in detections.enumerated() where detection.conf >= options.detectionThreshold {
            guard let frame = detection.frameNumber else { continue }
            byFrame[frame, default: []].append(index)
        }
        guard !byFrame.isEmpty else { return [:] }
        var verdicts: [Int: Verdict] = [:]
        do {
            let frames = try SampledFrames(path: path, frames: byFrame.keys.sorted())
            while let (number, image) = frames.next() {
                for index in byFrame[number] ?? [] {
                    guard let crop = SpeciesNetCrop.crop(image, bbox: detections[index].bbox) else { continue }
                    verdicts[index] = try verdict(for: try classifier.classify(crop, top: options.classifierTopK))
                }
            }
        } catch let error as VideoError {
            // As the reference: a clip that cannot be read keeps its detections unclassified.
            log("Warning: failed to process video \(entry.file): \(error)")
        }
        return verdicts
    }

    /// `_process_classification_batch`: geofence first (with a country), roll-up unless geofenced.
    func verdict(for top: [SpeciesNetClassifier.Classification]) throws -> Verdict {
        let labels = top.map(\.label), scores = top.map { Double($0.score) }
        var chosen = (label: labels.first ?? SpeciesNetTaxonomy.unknown, score: scores.first ?? 0)
        var geofenced = false
        if let country = options.country {
            let result = try geofence.classify(labels: labels, scores: scores, country: country, admin1Region: options.admin1Region,
                                               taxonomy: taxonomy)
            if result.source != "classifier" {
                geofenced = true
                chosen = (result.label, result.score)
            }
        }
        if options.rollUp, !geofenced,
           let rolled = try geofence.rollUp(labels: labels, scores: scores, country: options.country, admin1Region: options.admin1Region,
                                            levels: SpeciesNetTaxonomy.Level.allCases, threshold: options.rollUpTargetConfidence,
                                            taxonomy: taxonomy, enabled: options.country != nil) {
            chosen = (rolled.label, rolled.score)
        }
        return Verdict(chosen: chosen, raw: zip(labels, scores).map { ($0, $1) })
    }

    /// Ids by first appearance, then the classification fields, categories and info.
    func assign(_ verdicts: [Int: [Int: Verdict]], to results: ResultsFile) throws -> ResultsFile {
        var output = results
        var numbering = ClassificationNumbering()
        for imageIndex in output.images.indices {
            guard let byDetection = verdicts[imageIndex], var detections = output.images[imageIndex].detections else { continue }
            for detectionIndex in detections.indices {
                guard let verdict = byDetection[detectionIndex] else { continue }
                let chosen = [verdict.chosen].prefix(options.topScores)
                let raw = verdict.raw.prefix(options.topScores)
                detections[detectionIndex].classifications = try chosen.map { (try numbering.id(for: $0.label), PythonRounding.round($0.score, places: 3)) }
                // Raw labels are numbered whether or not they are written, as the reference numbers them.
                let rawPairs = try raw.map { (try numbering.id(for: $0.label), PythonRounding.round($0.score, places: 3)) }
                if options.includeRawClassifications { detections[detectionIndex].rawClassifications = rawPairs }
            }
            output.images[imageIndex].detections = detections
        }
        output.classificationCategories = numbering.categories
        output.classificationCategoryDescriptions = numbering.descriptions
        return output
    }

    /// The reference's `info` entries for the classification step, and the number of classified detections.
    public static func record(classifier name: String, in results: inout ResultsFile, completed: Date = Date()) -> Int {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
        results.info["classifier"] = .string(name)
        results.info["classification_completion_time"] = .string(formatter.string(from: completed))
        return results.images.reduce(0) { $0 + ($1.detections ?? []).filter { $0.classifications != nil }.count }
    }
}
