import Classification
import Foundation
import ResultsFormat

/// A job's species classification (run_md_and_speciesnet's step after detection): the SpeciesNet
/// model folder the service resolved, and the geofence's country and region. Stored with the job as
/// JSON text, so every worker that takes a shard classifies the same way.
public struct JobClassification: Sendable, Equatable {
    public var classifier: String
    public var country: String?
    public var admin1Region: String?

    public init(classifier: String, country: String? = nil, admin1Region: String? = nil) {
        self.classifier = classifier
        self.country = country
        self.admin1Region = admin1Region
    }

    /// "" for a job without classification.
    public init?(serialized: String) {
        guard !serialized.isEmpty, let object = try? JSONParser.parse(Array(serialized.utf8)).object,
              let classifier = object["classifier"]?.string else { return nil }
        self.init(classifier: classifier, country: object["country"]?.string, admin1Region: object["admin1_region"]?.string)
    }

    public var serialized: String {
        var object = JSONObject([("classifier", .string(classifier))])
        if let country { object["country"] = .string(country) }
        if let admin1Region { object["admin1_region"] = .string(admin1Region) }
        return JSONWriter.serialize(.object(object), indent: nil)
    }

    /// The classification step for this job, as `detect --classifier` sets it up, but keeping the
    /// classifier's own top labels: they take part in the numbering (`ClassificationNumbering`), as in
    /// `detect`, and are dropped when the file is written.
    public func load() throws -> DetectionClassification {
        var options = DetectionClassification.Options()
        options.country = country
        options.admin1Region = admin1Region
        options.includeRawClassifications = true
        return try DetectionClassification(classifier: try SpeciesNetClassifier(folder: classifier), options: options)
    }

    /// One photo's (or clip's) record classified, its categories written as the full SpeciesNet labels:
    /// ids are given when the job's results file is written (`ClassificationNumbering`), in the order the
    /// reference gives them over the whole file.
    public static func classify(_ entry: ImageResult, path: String, with step: DetectionClassification,
                                log: (String) -> Void = { _ in }) throws -> ImageResult {
        let classified = try step.run(ResultsFile(images: [entry], info: JSONObject()), photo: { _ in path }, log: log)
        let labels = Dictionary(classified.classificationCategoryDescriptions ?? [], uniquingKeysWith: { first, _ in first })
        var result = classified.images[0]
        result.detections = result.detections?.map { detection in
            var copy = detection
            copy.classifications = detection.classifications?.map { (labels[$0.category] ?? $0.category, $0.score) }
            copy.rawClassifications = detection.rawClassifications?.map { (labels[$0.category] ?? $0.category, $0.score) }
            return copy
        }
        return result
    }
}
