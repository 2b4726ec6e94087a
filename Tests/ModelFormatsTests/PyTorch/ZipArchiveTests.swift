import Foundation
import ModelFormats
import Testing
import TestSupport

struct ZipArchiveTests {
    @Test func readsTorchCheckpointLayout() throws {
        let archive = try ZipArchive(file: try MappedFile(path: Fixtures.enginePath("yolov5_p6_tiny.pt")))
        let pickle = try #require(archive.entry(endingWith: "data.pkl"))
        #expect(pickle.name == "yolov5_p6_tiny/data.pkl")
        #expect(archive.entries.keys.contains { $0.hasPrefix("yolov5_p6_tiny/data/") })
        let data = try archive.data(pickle)
        #expect(data[0] == 0x80 && data[1] == 0x02)  // pickle protocol 2, as torch.save writes
    }

    /// The entry the reference's add_metadata_to_megadetector_model_file appends is deflated: it is
    /// inflated and CRC-checked; pickles and tensors must be stored and are never inflated.
    @Test func readsTheDeflatedMetadataEntry() throws {
        let path = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/md_v5_tiny_metadata_1024.pt").path
        let archive = try ZipArchive(file: try MappedFile(path: path))
        let entry = try #require(archive.entry(endingWith: "megadetector_info.json"))
        #expect(entry.method == .deflated)
        let info = try JSONSerialization.jsonObject(with: Data(try archive.contents(entry, maximumSize: 1 << 20))) as? [String: Any]
        #expect(info?["image_size"] as? Int == 1024 && info?["model_type"] as? String == "yolov5")
        #expect(throws: ModelFormatError.self) { try archive.data(entry) }
        #expect(throws: ModelFormatError.self) { try archive.contents(entry, maximumSize: entry.size - 1) }
        let pickle = try #require(archive.entry(endingWith: "data.pkl"))
        #expect(pickle.method == .stored)
        #expect(try archive.contents(pickle, maximumSize: pickle.size).count == pickle.size)
    }

    @Test func truncatedAndForeignFilesAreRejected() throws {
        for name in ["truncated.pt", "not_a_zip.pt"] {
            #expect(throws: ModelFormatError.self) { try ZipArchive(file: try MappedFile(path: Fixtures.enginePath(name))) }
        }
        #expect(throws: ModelFormatError.fileNotFound(path: "/nonexistent/model.pt")) {
            try MappedFile(path: "/nonexistent/model.pt")
        }
    }
}
