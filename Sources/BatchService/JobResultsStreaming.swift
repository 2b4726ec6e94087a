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
    public func streamResults(_ id: String, relativeTo root: String?, detectorName: String, precision: String = "fp32",
                              pageSize: Int = 2000, write: (String) async throws -> Void) async throws {
        let version = ModelRegistry.version(fromFileName: detectorName)
        var metadata = ModelRegistry.detectorMetadata(version: version)
        if precision != "fp32" { metadata["precision"] = .string(precision) }
        let info = ResultsFile.info(detector: URL(fileURLWithPath: detectorName).lastPathComponent, metadata: metadata)
        var writer = ResultsStreamWriter(info: info)
        var start = 0
        while true {
            let page = try await results(id, from: start, limit: pageSize)
            var text = ""
            for (path, json) in page {
                guard let json else { continue }
                var image = try ImageResult(json: try JSONParser.parse(Array(json.utf8)))
                if let root { image.file = ImageEnumerator.relative(path, to: root) }
                text += writer.text(for: image)
            }
            if !text.isEmpty { try await write(text) }
            if page.count < pageSize { break }
            start += pageSize
        }
        try await write(writer.closingText())
    }
}
