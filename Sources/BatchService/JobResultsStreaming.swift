import Classification
import Detection
import Foundation
import ResultsFormat

extension JobStore {
    /// Writes the job's MegaDetector results file in pieces through `write`: every processed photo
    /// exactly once, in writing order (photos not processed yet are left out rather than reported
    /// as failures), names relative to `relativeTo` when given. Reads `pageSize` photos at a time, so
    /// memory stays flat for million-photo jobs; the bytes equal what `ResultsFile.serialized()`
    /// would give for the same images.
    /// `precision` other than fp32 is recorded in `detector_metadata` as `detect` records it.
    /// With `classification`, detections carry species labels, numbered here as `detect --classifier` numbers
    /// them, and the file ends with the classification categories and descriptions; `info` names the classifier.
    public func streamResults(_ id: String, relativeTo root: String?, detectorName: String, precision: String = "fp32",
                              classification: JobClassification? = nil, completed: Date = Date(),
                              pageSize: Int = 2000, write: (String) async throws -> Void) async throws {
        let version = ModelRegistry.version(fromFileName: detectorName)
        var metadata = ModelRegistry.detectorMetadata(version: version)
        if precision != "fp32" { metadata["precision"] = .string(precision) }
        var info = ResultsFile.info(detector: URL(fileURLWithPath: detectorName).lastPathComponent, metadata: metadata)
        if let classification {
            var file = ResultsFile(images: [], info: info)
            _ = DetectionClassification.record(classifier: URL(fileURLWithPath: classification.classifier).lastPathComponent, in: &file,
                                               completed: completed)
            info = file.info
        }
        var numbering = ClassificationNumbering()
        var writer = ResultsStreamWriter(info: info)
        var start = 0
        while true {
            let page = try await results(id, from: start, limit: pageSize)
            var text = ""
            for (path, json) in page {
                guard let json else { continue }
                var image = try ImageResult(json: try JSONParser.parse(Array(json.utf8)))
                if let root { image.file = ImageEnumerator.relative(path, to: root) }
                if classification != nil { image = try numbering.numbered(image) }
                text += writer.text(for: image)
            }
            if !text.isEmpty { try await write(text) }
            if page.count < pageSize { break }
            start += pageSize
        }
        var trailing: [(String, JSONValue)] = []
        if classification != nil {
            trailing = [("classification_categories", .object(JSONObject(numbering.categories.map { ($0.0, .string($0.1)) }))),
                        ("classification_category_descriptions", .object(JSONObject(numbering.descriptions.map { ($0.0, .string($0.1)) })))]
        }
        try await write(writer.closingText(trailing: trailing))
    }
}
