import Foundation
import ResultsFormat
import Testing
import TestSupport

/// The report's species section against the reference's postprocess_batch_results on
/// run_md_and_speciesnet output (Tests/Fixtures/postprocessing/generate_species_report_fixture.py):
/// the same species pages with the same number of sampled photos, and the same whole-file counts.
struct SpeciesReportTests {
    static let fixture = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/expected_species_report.json")

    /// `<a href="class_x.html">name</a> (n)` links and `name: n<br/>` footer lines of an index page.
    static func section(_ index: String) throws -> (links: [String: Int], counts: [String: Int]) {
        let start = try #require(index.range(of: "Species classification results"))
        let species = String(index[start.upperBound...])
        let parts = species.components(separatedBy: "Category counts")
        #expect(parts.count == 2)
        var links: [String: Int] = [:], counts: [String: Int] = [:]
        for match in parts[0].matches(of: /<a href="[^"]+\.html">([^<]+)<\/a> \((\d+)\)/) { links[String(match.1)] = Int(match.2) }
        for match in parts[1].matches(of: /(?m)^([^<>\n]+): (\d+)<br\/>/) { counts[String(match.1)] = Int(match.2) }
        return (links, counts)
    }

    @Test(.requires(.shared)) func speciesSectionEqualsTheReferences() throws {
        let expected = try Fixtures.jsonObject(at: Self.fixture)
        let input = Fixtures.repositoryRoot.appendingPathComponent(try #require(expected["input"] as? String)).path
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-species-report-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        let images = try Fixtures.requireShared().appendingPathComponent("images").path
        let run = try Fixtures.runCLI(["report", input, output.path, "--images-dir", images, "--confidence-threshold", "0.2"])
        #expect(run.status == 0, "\(run.stderr)")
        let index = try String(contentsOf: output.appendingPathComponent("index.html"), encoding: .utf8)
        let ours = try Self.section(index)
        #expect(ours.links == expected["species_links"] as? [String: Int])
        #expect(ours.counts == expected["species_counts"] as? [String: Int])
        #expect(!ours.links.isEmpty && !ours.counts.isEmpty)
        for name in ours.links.keys {
            #expect(FileManager.default.fileExists(atPath: output.appendingPathComponent("class_\(name).html").path), "page of \(name)")
        }
    }
}
