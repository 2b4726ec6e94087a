import Foundation
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// `restrict-classifications` against the reference's restrict_to_taxa_list (Tests/Fixtures/
/// postprocessing/generate_classification_postprocessing_fixtures.py: a species list with repeated,
/// padded, capitalised and non-ASCII names, a taxonomy with missing ancestors, and three option sets).
/// The files must be byte-identical: only ids, names and taxonomy strings change.
struct TaxaListRestrictionTests {
    static let folder = ClassificationSmoothingTests.folder

    /// Our flags for the manifest's keyword arguments.
    static let arguments: [String: [String]] = [
        "restrict_default": [],
        "restrict_walk_down_protected": ["--allow-walk-down", "--protected-common-names", "gray fox,raccoon", "--no-original-common-names",
                                         "--classification-threshold", "0.3"],
        "restrict_no_combine": ["--no-combine", "--no-pre-filtering-description"],
    ]

    @Test(arguments: arguments.keys.sorted())
    func sameFileAsTheReference(_ name: String) throws {
        let manifest = try Fixtures.jsonObject(at: Self.folder.appendingPathComponent("classification_manifest.json"))
        let entry = try #require((manifest["cases"] as? [String: Any])?[name] as? [String: Any])
        let input = try #require(entry["input"] as? String), expected = try #require(entry["expected"] as? String)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-restrict-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: output) }
        let run = try Fixtures.runCLI(["restrict-classifications", Self.folder.appendingPathComponent(input).path, output.path,
                                       "--taxa-list", Self.folder.appendingPathComponent(try #require(entry["taxa_list"] as? String)).path,
                                       "--taxonomy", Self.folder.appendingPathComponent(try #require(entry["taxonomy"] as? String)).path]
                                      + Self.arguments[name]!)
        #expect(run.status == 0, "\(run.stderr)")
        let ours = try Data(contentsOf: output), reference = try Data(contentsOf: Self.folder.appendingPathComponent(expected))
        #expect(ours == reference, "\(name): our file differs from the reference's")
    }

    @Test func aListedNameMissingFromTheTaxonomyIsNamed() throws {
        let document = try ResultsInput.loadDocument(Self.folder.appendingPathComponent("classification_input_restrict.json").path)
        let taxonomy = try String(contentsOf: Self.folder.appendingPathComponent("classification_taxonomy.txt"), encoding: .utf8)
        let error = #expect(throws: TaxaListRestriction.Failure.self) {
            try TaxaListRestriction.restrict(document, taxaList: "latin,common\nursus arctos,brown bear\n", taxonomy: taxonomy)
        }
        #expect("\(error.map { "\($0)" } ?? "")".contains("ursus arctos"))
    }
}
