import Detection
import Foundation
import Testing
import TestSupport

/// `megadetector subset` against the reference's subset_json_detector_output: every file written must
/// be byte-identical to the reference's (MD5 of the text) and hold the same number of images.
struct ResultsSubsetTests {
    static func expected() throws -> [String: Any] {
        try Fixtures.jsonObject(at: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/expected_subset.json"))
    }

    static func cases() throws -> [String] { try Fixtures.caseNames(try expected()["cases"], in: "expected_subset.json") }

    @Test(arguments: try cases())
    func byteIdenticalToTheReference(_ name: String) throws {
        let entry = try #require((try Self.expected()["cases"] as? [String: Any])?[name] as? [String: Any])
        let files = try #require(entry["files"] as? [String: [String: Any]])
        #expect(!files.isEmpty, "\(name) names no output file")
        let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_shared.json").path
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-subset-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let split = files.keys.contains { !$0.isEmpty }
        let output = split ? folder.path : folder.appendingPathComponent("out.json").path
        let result = try Fixtures.runCLI(["subset", input, output] + (try #require(entry["our_arguments"] as? [String])))
        #expect(result.status == 0, "\(result.stderr)")
        for (file, expectation) in files {
            let path = file.isEmpty ? output : folder.appendingPathComponent(file).path
            let text = try String(contentsOfFile: path, encoding: .utf8)
            #expect(Checksum.md5Hex(Array(text.utf8)) == expectation["md5"] as? String, "\(name): \(file) differs from the reference")
        }
        if split {
            let written = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
            #expect(written == files.keys.sorted())
        }
    }

    @Test func refusesToOverwriteAndUnknownCategories() throws {
        let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_synthetic.json").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-subset-\(UUID().uuidString).json")
        try Data("{}".utf8).write(to: output)
        defer { try? FileManager.default.removeItem(at: output) }
        let exists = try Fixtures.runCLI(["subset", input, output.path, "--query", "exif"])
        #expect(exists.status == 1 && exists.stderr.contains("exists"))
        let unknown = try Fixtures.runCLI(["subset", input, output.path, "--overwrite", "--category-names-to-keep", "unicorn"])
        #expect(unknown.status == 1 && unknown.stderr.contains("unicorn"))
    }
}

extension ResultsSubsetTests {
    /// Deliberate difference: a replacement without a query prepends (as the reference's option is
    /// documented); the reference itself skips its query step then and changes nothing.
    @Test func replacementWithoutQueryPrepends() throws {
        let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_synthetic.json").path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-subset-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let result = try Fixtures.runCLI(["subset", input, output.path, "--replacement", "site1/"])
        #expect(result.status == 0)
        let text = try String(contentsOf: output, encoding: .utf8)
        #expect(text.contains("\"file\": \"site1/alpha.png\""))
    }
}
