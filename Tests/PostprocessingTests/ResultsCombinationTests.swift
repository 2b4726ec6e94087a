import Detection
import Foundation
import Testing
import TestSupport

/// `megadetector combine` against the reference's combine_batch_outputs on the same inputs (the
/// per-folder parts `subset --split-folders` writes, which ResultsSubsetTests proves identical to
/// the reference's).
struct ResultsCombinationTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-combine-\(UUID().uuidString)")
    static let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_shared.json").path

    func parts() throws -> URL {
        let parts = folder.appendingPathComponent("parts")
        let split = try Fixtures.runCLI(["subset", Self.input, parts.path, "--split-folders"])
        #expect(split.status == 0, "\(split.stderr)")
        return parts
    }

    @Test func byteIdenticalToTheReference() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try #require(try ResultsSubsetTests.expected()["combine"] as? [String: Any])
        let parts = try parts()
        let order = try #require(expected["order"] as? [String])
        let output = folder.appendingPathComponent("combined.json").path
        let result = try Fixtures.runCLI(["combine"] + order.map { parts.appendingPathComponent($0).path } + [output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Checksum.md5Hex(Array(try Data(contentsOf: URL(fileURLWithPath: output)))) == expected["md5"] as? String)
    }

    /// Two run_md_and_speciesnet outputs with different species categories: the second file's are
    /// merged into the first's by name (merge_classification_categories), byte-identical to the reference.
    @Test func speciesCategoriesAreMergedAsTheReferenceMergesThem() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let expected = try #require(try ResultsSubsetTests.expected()["combine_species"] as? [String: Any])
        let inputs = try #require(expected["inputs"] as? [String]).map {
            Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing").appendingPathComponent($0).path
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let output = folder.appendingPathComponent("combined.json").path
        let result = try Fixtures.runCLI(["combine"] + inputs + [output])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Checksum.md5Hex(Array(try Data(contentsOf: URL(fileURLWithPath: output)))) == expected["md5"] as? String)
        let combined = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect(combined["classification_categories"] as? [String: String] == expected["classification_categories"] as? [String: String])
    }

    @Test func duplicatesAndCategoryConflictsAreErrors() throws {
        defer { try? FileManager.default.removeItem(at: folder) }
        let parts = try parts()
        let part = parts.appendingPathComponent("everyday.json").path
        let output = folder.appendingPathComponent("out.json").path
        let duplicate = try Fixtures.runCLI(["combine", part, part, output])
        #expect(duplicate.status == 1 && duplicate.stderr.contains("duplicate image everyday/"))
        let allowed = try Fixtures.runCLI(["combine", part, part, output, "--allow-duplicates"])
        #expect(allowed.status == 0, "\(allowed.stderr)")
        let conflicting = folder.appendingPathComponent("conflict.json")
        try Data("""
            {"images": [{"file": "x.jpg", "detections": []}], "detection_categories": {"1": "bird"}, "info": {"format_version": "1.6"}}
            """.utf8).write(to: conflicting)
        let conflict = try Fixtures.runCLI(["combine", part, conflicting.path, output, "--overwrite"])
        #expect(conflict.status == 1 && conflict.stderr.contains("detection category 1 is 'animal'"))
        // Told to, the first file's name is kept, with a warning.
        let told = try Fixtures.runCLI(["combine", part, conflicting.path, output, "--overwrite", "--allow-category-conflicts"])
        #expect(told.status == 0 && told.stderr.contains("keeping 'animal'"), "\(told.stderr)")
        let combined = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: output))) as? [String: Any])
        #expect((combined["detection_categories"] as? [String: String])?["1"] == "animal")
        #expect((combined["images"] as? [Any])?.count == 1 + (try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: part))) as? [String: Any])["images"] as? [Any])!.count)
    }
}
