import Detection
import Foundation
import Imaging
import ResultsFormat

/// speciesnet's own pipeline (`SpeciesNet.predict`, `run_model`), photo by photo, in the order its
/// single-threaded mode works: the detector (MegaDetector, boxes above 0.01, not truncated), the
/// classifier on each box at or above 0.1 (or, for a `full_image` model, on the photo's centre), then
/// the ensemble (`SpeciesNetEnsemble`) for each classified box; one `predictions.json` entry per photo.
public struct SpeciesNetPredictionRun {
    public struct Options: Sendable {
        /// `--detection_threshold_for_classification`.
        public var detectionThreshold = 0.1
        /// `--max_classifications_per_image`: the most confident boxes only (nil: all).
        public var maxClassificationsPerImage: Int?
        /// `--max_classifications_per_detection`: classes reported per box (nil: all); the ensemble
        /// always sees five.
        public var maxClassificationsPerDetection: Int? = 2

        public init() {}
    }

    /// speciesnet's detector keeps boxes above this (`SpeciesNetDetector.DETECTION_THRESHOLD`).
    public static let detectorThreshold = 0.01

    public let detector: Detector
    public let classifier: SpeciesNetClassifier
    public let ensemble: SpeciesNetEnsemble
    public let options: Options

    public init(detector: Detector, classifier: SpeciesNetClassifier, ensemble: SpeciesNetEnsemble, options: Options) {
        self.detector = detector
        self.classifier = classifier
        self.ensemble = ensemble
        self.options = options
    }

    public enum Outcome: Equatable, Sendable {
        case completed(processed: Int, reused: Int)
        case interrupted(processed: Int)
    }

    /// Every photo, written to `output` as speciesnet writes it. Entries of an existing file there are
    /// kept when `resume` (speciesnet's default: failures are tried again); the file is rewritten
    /// every `saveInterval` seconds and when `shouldStop` says so, so a killed run loses little.
    public func run(instances: [SpeciesNetInstance], output: String, resume: Bool, saveInterval: TimeInterval = 60,
                    shouldStop: () -> Bool = { false }, progress: ProgressReporter? = nil) throws -> Outcome {
        let filepaths = instances.map(\.filepath)
        let kept = resume ? try SpeciesNetPredictionsFile.partial(path: output, filepaths: Set(filepaths)) : [:]
        var done: [String: JSONObject] = kept
        var processed = 0
        var lastSave = Date()
        // As speciesnet: every photo in input order, done ones as they are, the rest not yet written.
        func save() throws { try SpeciesNetPredictionsFile.write(filepaths.compactMap { done[$0] }, to: output) }
        let remaining = instances.filter { kept[$0.filepath] == nil }
        progress?.begin(total: filepaths.count, alreadyDone: filepaths.count - remaining.count)
        defer { progress?.end() }
        for instance in remaining {
            let filepath = instance.filepath
            if shouldStop() {
                try save()
                return .interrupted(processed: processed)
            }
            let entry = try predict(instance, path: filepath, log: { progress?.note($0) })
            done[filepath] = entry
            processed += 1
            progress?.advance(file: filepath, failed: entry["failures"] != nil)
            if Date().timeIntervalSince(lastSave) >= saveInterval {
                try save()
                lastSave = Date()
            }
        }
        try save()
        return .completed(processed: processed, reused: kept.count)
    }

    /// One photo's entry; the instance's `filepath` is the name written, `path` where to read it.
    public func predict(_ instance: SpeciesNetInstance, path: String, log: (String) -> Void = { _ in }) throws -> JSONObject {
        let filepath = instance.filepath
        let region = instance.resolvedAdmin1Region()
        func entry(failures: [String]?, detections: [JSONObject]?) -> JSONObject {
            self.entry(instance, admin1Region: region, failures: failures, detections: detections)
        }
        let image: RGBImage
        do {
            image = try ImageDecoder.decode(path: path).image
        } catch {
            // speciesnet: an unreadable photo fails both models; the location is still written.
            log("Warning: failed to load image \(filepath): \(error)")
            return entry(failures: ["CLASSIFIER", "DETECTOR"], detections: nil)
        }
        var boxes = try detector.detectBoxes(image).compactMap { box -> (box: BoxMapping.MappedBox, label: SpeciesNetEnsemble.DetectionLabel)? in
            // speciesnet logs and drops a class it has no name for.
            guard let label = SpeciesNetEnsemble.DetectionLabel(category: box.category), label != .wholeImage else { return nil }
            return (box, label)
        }
        // Python's sorted(..., reverse=True) is stable: equal scores keep NMS order.
        boxes = boxes.enumerated().sorted { $0.element.box.score != $1.element.box.score ? $0.element.box.score > $1.element.box.score : $0.offset < $1.offset }
            .map(\.element)
        var detections = boxes.map { item -> JSONObject in
            JSONObject([("category", .string(item.box.category)), ("label", .string(item.label.rawValue)),
                        ("conf", .double(Double(item.box.score))), ("bbox", .array(item.box.normalizedBox.map { .double($0) }))])
        }
        switch classifier.folder.type {
        case .alwaysCrop:
            let selected = selectedForClassification(boxes.map { Double($0.box.score) })
            let crops = selected.map { SpeciesNetCrop.crop(image, bbox: boxes[$0].box.normalizedBox) }
            // A box with no pixels (zero width or height once truncated) makes torchvision's resize
            // raise; speciesnet's pipeline then fails the photo's classification and keeps its detections.
            if crops.contains(where: { $0 == nil }) {
                log("Warning: \(filepath) has a box too small to crop; its classification fails, as in speciesnet")
                return entry(failures: ["CLASSIFIER"], detections: detections)
            }
            for (index, crop) in zip(selected, crops) {
                detections[index] = try classified(detections[index], crop: crop!, pairedWith: boxes[index].label, confidence: Double(boxes[index].box.score),
                                                   country: instance.country, admin1Region: region)
            }
        case .fullImage:
            // The classification belongs to a whole-photo pseudo-detection written first; the ensemble
            // pairs it with the most confident box (or an animal at 0 where there is none).
            let pseudo = JSONObject([("category", .string("0")), ("label", .string(SpeciesNetEnsemble.DetectionLabel.wholeImage.rawValue)),
                                     ("conf", .double(1.0)), ("bbox", .array([0.0, 0.0, 1.0, 1.0].map { .double($0) }))])
            let paired = boxes.first.map { ($0.label, Double($0.box.score)) } ?? (.animal, 0.0)
            detections.insert(try classified(pseudo, crop: SpeciesNetCrop.centreCrop(image), pairedWith: paired.0, confidence: paired.1,
                                             country: instance.country, admin1Region: region), at: 0)
        }
        return entry(failures: nil, detections: detections)
    }

    /// `select_detections_for_classification`: indices at or above the threshold, the most confident
    /// ones where there is a limit, in increasing order.
    func selectedForClassification(_ confidences: [Double]) -> [Int] {
        var indices = confidences.indices.filter { confidences[$0] >= options.detectionThreshold }
        if let limit = options.maxClassificationsPerImage, limit >= 0 {
            indices = Array(indices.enumerated().sorted { confidences[$0.element] != confidences[$1.element] ? confidences[$0.element] > confidences[$1.element] : $0.offset < $1.offset }
                .prefix(limit).map(\.element)).sorted()
        }
        return indices
    }

    /// A detection with `raw_classifications` (its reported top classes) and `processed_classification`.
    func classified(_ detection: JSONObject, crop: RGBImage, pairedWith label: SpeciesNetEnsemble.DetectionLabel, confidence: Double,
                    country: String?, admin1Region: String?) throws -> JSONObject {
        let reported = options.maxClassificationsPerDetection.map { max($0, SpeciesNetEnsemble.classesConsidered) } ?? classifier.labels.count
        let top = try classifier.classify(crop, top: reported)
        let labels = top.map(\.label), scores = top.map { Double($0.score) }
        let processed = try ensemble.combine(labels: labels, scores: scores, detection: label, confidence: confidence,
                                             country: country, admin1Region: admin1Region)
        let shown = options.maxClassificationsPerDetection.map { max($0, 0) } ?? top.count
        var output = detection
        output["raw_classifications"] = .object(JSONObject([("classes", .array(labels.prefix(shown).map { .string($0) })),
                                                            ("scores", .array(scores.prefix(shown).map { .double($0) }))]))
        output["processed_classification"] = .object(JSONObject([("class", .string(processed.label)), ("score", .double(processed.score)),
                                                                 ("source", .string(processed.source))]))
        return output
    }

    /// The entry's fields in speciesnet's order, absent ones left out.
    func entry(_ instance: SpeciesNetInstance, admin1Region: String?, failures: [String]?, detections: [JSONObject]?) -> JSONObject {
        var object = JSONObject([("filepath", .string(instance.filepath))])
        if let failures { object["failures"] = .array(failures.map { .string($0) }) }
        if let country = instance.country { object["country"] = .string(country) }
        if let admin1Region { object["admin1_region"] = .string(admin1Region) }
        if let latitude = instance.latitude { object["latitude"] = latitude }
        if let longitude = instance.longitude { object["longitude"] = longitude }
        if let detections { object["detections"] = .array(detections.map { .object($0) }) }
        object["model_version"] = .string(classifier.folder.version)
        return object
    }
}
