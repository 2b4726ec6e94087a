import Foundation

/// speciesnet's geofencing and taxonomic roll-up (`geofence_utils.py`), rule for rule: a species the
/// geofence file does not allow in a country (or admin1 region), or blocks there, is rolled up to the
/// first ancestor level whose summed score clears the bar and that is itself allowed.
public struct SpeciesNetGeofence: Sendable {
    /// Full class string -> rules: "allow" / "block" -> country (ISO 3166-1 alpha-3) -> admin1 regions
    /// (an empty list: the whole country).
    public let rules: [String: [String: [String: [String]]]]

    public init(rules: [String: [String: [String: [String]]]]) {
        self.rules = rules
    }

    /// A model folder's geofence JSON: `{"class;order;family;genus;species": {"allow"|"block": {ISO3: [admin1...]}}}`.
    public init(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path),
              let object = try JSONSerialization.jsonObject(with: data) as? [String: [String: [String: [String]]]] else {
            throw InvalidFile(path: path)
        }
        rules = object
    }

    public struct InvalidFile: Error, CustomStringConvertible {
        public let path: String
        public var description: String { "\(path) is not a SpeciesNet geofence file ({taxon: {allow|block: {country: [regions]}}})" }
    }

    public struct InvalidRegion: Error, CustomStringConvertible {
        public let code: String
        public init(code: String) { self.code = code }
        public var description: String { "invalid country or region code \(code) (a country is 3 letters, ISO 3166-1 alpha-3; a region 2, as in the geofence file)" }
    }

    /// One prediction: its label, score and how it was reached (speciesnet's prediction source text).
    public struct Prediction: Sendable, Equatable {
        public var label: String
        public var score: Double
        public var source: String
    }

    /// `should_geofence_animal_classification`.
    public func shouldGeofence(_ label: String, country: String?, admin1Region: String?, enabled: Bool = true) throws -> Bool {
        guard enabled, let country, !country.isEmpty else { return false }
        guard country.count == 3 else { throw InvalidRegion(code: country) }
        if let admin1Region, !admin1Region.isEmpty, admin1Region.count != 2 { throw InvalidRegion(code: admin1Region) }
        guard let rule = rules[try SpeciesNetTaxonomy.fullClassString(label)] else { return false }
        if let allow = rule["allow"], !allow.isEmpty {
            guard let regions = allow[country] else { return true }
            if let admin1Region, !admin1Region.isEmpty, !regions.isEmpty, !regions.contains(admin1Region) { return true }
        }
        if let block = rule["block"], !block.isEmpty, let regions = block[country] {
            if regions.isEmpty { return true }
            if let admin1Region, !admin1Region.isEmpty, regions.contains(admin1Region) { return true }
        }
        return false
    }

    /// `roll_up_labels_to_first_matching_level`: per level in order, scores summed per ancestor (in
    /// label order, in double), the best allowed ancestor (first of equals) taken when its sum is above
    /// `threshold`.
    public func rollUp(labels: [String], scores: [Double], country: String?, admin1Region: String?, levels: [SpeciesNetTaxonomy.Level],
                       threshold: Double, taxonomy: SpeciesNetTaxonomy, enabled: Bool = true) throws -> Prediction? {
        for level in levels {
            var order: [String] = []
            var sums: [String: Double] = [:]
            for (label, score) in zip(labels, scores) {
                guard let ancestor = try taxonomy.ancestor(of: label, at: level) else { continue }
                if sums[ancestor] == nil { order.append(ancestor) }
                sums[ancestor, default: 0] += score
            }
            var best: String?
            var bestScore = 0.0
            for ancestor in order {
                let sum = sums[ancestor]!
                if sum > bestScore, try !shouldGeofence(ancestor, country: country, admin1Region: admin1Region, enabled: enabled) {
                    best = ancestor
                    bestScore = sum
                }
            }
            if bestScore > threshold, let best { return Prediction(label: best, score: bestScore, source: "classifier+rollup_to_\(level.rawValue)") }
        }
        return nil
    }

    /// `geofence_animal_classification`: the top label, or where it is geofenced, its roll-up to family,
    /// order, class or kingdom with the top score as the bar, or "unknown".
    public func classify(labels: [String], scores: [Double], country: String?, admin1Region: String?, taxonomy: SpeciesNetTaxonomy,
                         enabled: Bool = true) throws -> Prediction {
        guard let top = labels.first, let topScore = scores.first else {
            return Prediction(label: SpeciesNetTaxonomy.unknown, score: 0, source: "classifier")
        }
        guard try shouldGeofence(top, country: country, admin1Region: admin1Region, enabled: enabled) else {
            return Prediction(label: top, score: topScore, source: "classifier")
        }
        if let rollUp = try rollUp(labels: labels, scores: scores, country: country, admin1Region: admin1Region,
                                   levels: [.family, .order, .class, .kingdom], threshold: topScore - 1e-10, taxonomy: taxonomy, enabled: enabled) {
            return Prediction(label: rollUp.label, score: rollUp.score, source: "classifier+geofence+" + rollUp.source.dropFirst("classifier+".count))
        }
        return Prediction(label: SpeciesNetTaxonomy.unknown, score: topScore, source: "classifier+geofence+rollup_failed")
    }
}
