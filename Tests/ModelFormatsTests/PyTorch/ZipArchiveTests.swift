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
        let data = archive.data(pickle)
        #expect(data[0] == 0x80 && data[1] == 0x02)  // pickle protocol 2, as torch.save writes
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
