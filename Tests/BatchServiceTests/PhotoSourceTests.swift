import BatchService
import Foundation
import Testing

/// Requests may only name photos under the configured roots.
struct PhotoSourceTests {
    static func folders() throws -> (root: URL, outside: URL) {
        let base = FileManager.default.temporaryDirectory.appendingPathComponent("source-\(UUID().uuidString)")
        let root = base.appendingPathComponent("root"), outside = base.appendingPathComponent("outside")
        for folder in [root.appendingPathComponent("cam1"), outside] {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        }
        for file in [root.appendingPathComponent("cam1/a.jpg"), root.appendingPathComponent("cam1/b.JPG"), outside.appendingPathComponent("secret.jpg")] {
            try Data([0xFF, 0xD8]).write(to: file)
        }
        try FileManager.default.createSymbolicLink(at: root.appendingPathComponent("escape"), withDestinationURL: outside)
        return (root, outside)
    }

    @Test func folderRequestsListPhotosUnderTheRoot() throws {
        let (root, _) = try Self.folders()
        let source = PhotoSource(roots: [root.path])
        let photos = try source.photos(folder: "cam1", images: nil, limit: 10, firstN: nil, sampleN: nil, extensions: nil)
        #expect(photos.map { ($0 as NSString).lastPathComponent } == ["a.jpg", "b.JPG"])
        #expect(try source.photos(folder: "cam1", images: nil, limit: 10, firstN: 1, sampleN: nil, extensions: nil).count == 1)
        #expect(throws: PhotoSource.Refusal.tooMany(count: 2, limit: 1)) {
            try source.photos(folder: "cam1", images: nil, limit: 1, firstN: nil, sampleN: nil, extensions: nil)
        }
    }

    @Test func escapesAreRefused() throws {
        let (root, outside) = try Self.folders()
        let source = PhotoSource(roots: [root.path])
        #expect(throws: PhotoSource.Refusal.outsideRoots("../outside/secret.jpg")) { try source.confine("../outside/secret.jpg") }
        #expect(throws: PhotoSource.Refusal.outsideRoots(outside.appendingPathComponent("secret.jpg").path)) {
            try source.confine(outside.appendingPathComponent("secret.jpg").path)
        }
        #expect(throws: PhotoSource.Refusal.outsideRoots("escape/secret.jpg")) { try source.confine("escape/secret.jpg") }
        #expect(throws: PhotoSource.Refusal.unsupportedScheme("https://example.org/a.jpg")) { try source.confine("https://example.org/a.jpg") }
        #expect(throws: PhotoSource.Refusal.notFound("cam1/missing.jpg")) { try source.confine("cam1/missing.jpg") }
    }
}
