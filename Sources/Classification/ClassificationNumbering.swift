import ResultsFormat

/// Classification ids as the reference gives them: labels become "0", "1", ... in order of first
/// appearance (photos in file order, detections in writing order, each one's classifications, then raw
/// ones), keyed by common name. `DetectionClassification` numbers a whole file with it; the batch
/// service numbers a results file as it writes it, image by image.
public struct ClassificationNumbering: Sendable {
    private var idsByName: [String: String] = [:]
    /// Labels already numbered: a long file repeats a few labels, so each is parsed once.
    private var idsByLabel: [String: String] = [:]
    public private(set) var categories: [(String, String)] = []
    public private(set) var descriptions: [(String, String)] = []

    public init() {}

    public mutating func id(for label: String) throws -> String {
        if let id = idsByLabel[label] { return id }
        let name = try SpeciesNetTaxonomy.commonName(label)
        if let id = idsByName[name] {
            idsByLabel[label] = id
            return id
        }
        let id = String(idsByName.count)
        idsByName[name] = id
        idsByLabel[label] = id
        categories.append((id, name))
        descriptions.append((id, label))
        return id
    }

    /// The image with its detections in writing order and their labels numbered; the raw labels are
    /// numbered too (the reference numbers them whether or not it writes them), then left out unless
    /// `keepingRaw`.
    public mutating func numbered(_ image: ImageResult, keepingRaw: Bool = false) throws -> ImageResult {
        var sorted = ResultsFile(images: [image], info: JSONObject()).sortedForWriting().images[0]
        guard var detections = sorted.detections else { return sorted }
        for index in detections.indices {
            if let pairs = detections[index].classifications {
                detections[index].classifications = try pairs.map { (try id(for: $0.category), $0.score) }
            }
            if let pairs = detections[index].rawClassifications {
                let numbered = try pairs.map { (try id(for: $0.category), $0.score) }
                detections[index].rawClassifications = keepingRaw ? numbered : nil
            }
        }
        sorted.detections = detections
        return sorted
    }
}
