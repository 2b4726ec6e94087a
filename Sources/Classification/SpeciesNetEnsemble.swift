/// speciesnet's ensemble (`ensemble_prediction_combiner.combine_predictions`): one detection and the
/// classifier's top five for it become one processed classification, rule for rule. The detector's
/// word wins for confident humans and vehicles, the classifier's for confident blanks and species
/// (geofenced), and otherwise the labels are rolled up the taxonomy, or fall back to the detector's
/// "animal", or to "unknown". Every comparison is strict, as in speciesnet.
public struct SpeciesNetEnsemble: Sendable {
    public let taxonomy: SpeciesNetTaxonomy
    public let geofence: SpeciesNetGeofence
    /// speciesnet's `--geofence` (on by default): off, no label is geofenced, in rules or roll-ups.
    public let geofenceEnabled: Bool

    /// The detector's labels as speciesnet names them (`Detection`).
    public enum DetectionLabel: String, Sendable {
        case wholeImage = "whole_image_classification"
        case animal, human, vehicle

        /// MegaDetector's category id ("1" animal, "2" person, "3" vehicle; "0" the whole-image pseudo-detection).
        public init?(category: String) {
            switch category {
            case "0": self = .wholeImage
            case "1": self = .animal
            case "2": self = .human
            case "3": self = .vehicle
            default: return nil
            }
        }
    }

    /// How many of the classifier's top classes the rules look at (`NUM_CLASSIFICATIONS_FOR_ENSEMBLE`).
    public static let classesConsidered = 5

    public init(taxonomy: SpeciesNetTaxonomy, geofence: SpeciesNetGeofence, geofenceEnabled: Bool = true) {
        self.taxonomy = taxonomy
        self.geofence = geofence
        self.geofenceEnabled = geofenceEnabled
    }

    /// One processed classification. `labels` and `scores` are the classifier's top classes, best first
    /// (only the first five are used); `detection` the detector's label and confidence for the same box.
    public func combine(labels: [String], scores: [Double], detection: DetectionLabel, confidence: Double,
                        country: String?, admin1Region: String?) throws -> SpeciesNetGeofence.Prediction {
        let labels = Array(labels.prefix(Self.classesConsidered)), scores = Array(scores.prefix(Self.classesConsidered))
        guard let top = labels.first, let topScore = scores.first else {
            return fallback(detection: detection, confidence: confidence, topScore: 0)
        }
        typealias Prediction = SpeciesNetGeofence.Prediction
        let humanOrVehicle = [SpeciesNetTaxonomy.human, SpeciesNetTaxonomy.vehicle]
        if detection == .human {
            if confidence > 0.7 { return Prediction(label: SpeciesNetTaxonomy.human, score: confidence, source: "detector") }
            if confidence > 0.2, humanOrVehicle.contains(top), topScore > 0.5 {
                return Prediction(label: SpeciesNetTaxonomy.human, score: topScore, source: "classifier")
            }
        }
        if detection == .vehicle {
            if confidence > 0.2, top == SpeciesNetTaxonomy.human, topScore > 0.5 {
                return Prediction(label: SpeciesNetTaxonomy.human, score: topScore, source: "classifier")
            }
            if confidence > 0.7 { return Prediction(label: SpeciesNetTaxonomy.vehicle, score: confidence, source: "detector") }
            if confidence > 0.2, top == SpeciesNetTaxonomy.vehicle, topScore > 0.4 {
                return Prediction(label: SpeciesNetTaxonomy.vehicle, score: topScore, source: "classifier")
            }
        }
        if top == SpeciesNetTaxonomy.blank {
            if (confidence < 0.2 && topScore > 0.5) || topScore > 0.99 {
                return Prediction(label: SpeciesNetTaxonomy.blank, score: topScore, source: "classifier")
            }
        } else if !humanOrVehicle.contains(top) {
            // A species (or higher taxon) the classifier is sure of, or fairly sure of with an animal box.
            if topScore > 0.8 || (topScore > 0.65 && detection == .animal && confidence > 0.2) {
                return try geofence.classify(labels: labels, scores: scores, country: country, admin1Region: admin1Region,
                                             taxonomy: taxonomy, enabled: geofenceEnabled)
            }
        }
        if let rolled = try geofence.rollUp(labels: labels, scores: scores, country: country, admin1Region: admin1Region,
                                            levels: [.genus, .family, .order, .class, .kingdom], threshold: 0.65,
                                            taxonomy: taxonomy, enabled: geofenceEnabled) {
            return rolled
        }
        return fallback(detection: detection, confidence: confidence, topScore: topScore)
    }

    /// No rule and no roll-up: a confident animal box stays "animal", anything else is "unknown".
    private func fallback(detection: DetectionLabel, confidence: Double, topScore: Double) -> SpeciesNetGeofence.Prediction {
        if detection == .animal, confidence > 0.5 {
            return SpeciesNetGeofence.Prediction(label: SpeciesNetTaxonomy.animal, score: confidence, source: "detector")
        }
        return SpeciesNetGeofence.Prediction(label: SpeciesNetTaxonomy.unknown, score: topScore, source: "classifier")
    }
}
