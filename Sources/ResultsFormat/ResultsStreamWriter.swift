/// Writes a results file piece by piece, byte for byte as `ResultsFile.serialized()` would, without
/// holding every image in memory: the batch service streams million-photo results this way. Images
/// must arrive already in writing order (code-point order of `file`); each one's detections are
/// sorted here as `sortedForWriting` sorts them.
public struct ResultsStreamWriter: Sendable {
    public let detectionCategories: [(String, String)]
    public let info: JSONObject
    private var imagesWritten = 0

    public init(detectionCategories: [(String, String)] = ResultsFile.megadetectorCategories, info: JSONObject) {
        self.detectionCategories = detectionCategories
        self.info = info
    }

    /// The text for the next image (the document's opening comes with the first).
    public mutating func text(for image: ImageResult) -> String {
        let sorted = ResultsFile(images: [image], info: JSONObject()).sortedForWriting().images[0]
        let prefix = imagesWritten == 0 ? "{\n \"images\": [" : ","
        imagesWritten += 1
        return prefix + "\n  " + JSONWriter.serialize(sorted.json, indent: 1, level: 2)
    }

    /// The rest of the document after the last image; `trailing` fields (the classification categories)
    /// come after `info`, where `ResultsFile.serialized()` puts them.
    public func closingText(trailing: [(String, JSONValue)] = []) -> String {
        let categories = JSONWriter.serialize(.object(JSONObject(detectionCategories.map { ($0.0, .string($0.1)) })), indent: 1, level: 1)
        let opening = imagesWritten == 0 ? "{\n \"images\": []" : "\n ]"
        let rest = trailing.map { ",\n " + JSONWriter.serialize(.string($0.0), indent: 1) + ": " + JSONWriter.serialize($0.1, indent: 1, level: 1) }.joined()
        return opening + ",\n \"detection_categories\": " + categories + ",\n \"info\": " + JSONWriter.serialize(.object(info), indent: 1, level: 1)
            + rest + "\n}"
    }
}
