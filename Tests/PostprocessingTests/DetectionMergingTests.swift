import Detection
import Foundation
import Testing
import TestSupport

/// `megadetector merge` against the reference's merge_detections on the same inputs: byte-identical.
struct DetectionMergingTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing")
    static func expected() throws -> [String: Any] { try Fixtures.jsonObject(at: folder.appendingPathComponent("expected_merge.json")) }
    static func cases() throws -> [String] { try Fixtures.caseNames(try expected()["cases"], in: "expected_merge.json") }

    @Test(arguments: try cases())
    func byteIdenticalToTheReference(_ name: String) throws {
        let entry = try #require((try Self.expected()["cases"] as? [String: Any])?[name] as? [String: Any])
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-merge-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Fixtures.runCLI(["merge", Self.folder.appendingPathComponent("merge_source.json").path,
                                          Self.folder.appendingPathComponent("merge_target.json").path, output.path]
                                         + (try #require(entry["our_arguments"] as? [String])))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Checksum.md5Hex(Array(try Data(contentsOf: output))) == entry["md5"] as? String)
    }

    @Test func mismatchedThresholdsAndForeignImagesAreErrors() throws {
        let source = Self.folder.appendingPathComponent("merge_source.json").path
        let target = Self.folder.appendingPathComponent("merge_target.json").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-merge-\(UUID().uuidString).json").path
        let thresholds = try Fixtures.runCLI(["merge", source, source, target, output, "--source-confidence-thresholds", "0.1,0.2,0.3"])
        #expect(thresholds.status == 1 && thresholds.stderr.contains("2 source files but 3"))
        let synthetic = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_synthetic.json").path
        let foreign = try Fixtures.runCLI(["merge", synthetic, target, output])
        #expect(foreign.status == 1 && foreign.stderr.contains("is not in the target results"))
    }
}
