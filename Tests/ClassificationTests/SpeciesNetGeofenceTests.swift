import Classification
import Foundation
import ResultsFormat
import Testing
import TestSupport

/// Geofencing and roll-up against speciesnet's own functions on 300 seeded cases
/// (Tests/Fixtures/speciesnet/expected_geofence.json): the same label and source, the same score
/// (sums of the same doubles in the same order: exact).
struct SpeciesNetGeofenceTests {
    struct Fixture {
        var taxonomy: SpeciesNetTaxonomy
        var geofence: SpeciesNetGeofence
        var cases: [JSONObject]
    }

    /// Read with our JSON parser, whose numbers are correctly rounded (Foundation's JSONSerialization on
    /// Linux is off by an ulp on some of these scores).
    static func fixture() throws -> Fixture {
        let url = SpeciesNetCropTests.folder.appendingPathComponent("expected_geofence.json")
        let table = try JSONParser.parse([UInt8](try Data(contentsOf: url))).object
        guard let taxa = table?["taxonomy"]?.array?.compactMap(\.string), let rulesObject = table?["geofence"]?.object,
              let cases = table?["cases"]?.array?.compactMap(\.object), !cases.isEmpty else {
            throw Fixtures.FixtureError.missing("expected_geofence.json lacks taxonomy, geofence or cases")
        }
        var rules: [String: [String: [String: [String]]]] = [:]
        for (taxon, rule) in rulesObject.entries {
            for (kind, countries) in rule.object?.entries ?? [] {
                for (country, regions) in countries.object?.entries ?? [] {
                    rules[taxon, default: [:]][kind, default: [:]][country] = regions.array?.compactMap(\.string) ?? []
                }
            }
        }
        return Fixture(taxonomy: try SpeciesNetTaxonomy(lines: taxa), geofence: SpeciesNetGeofence(rules: rules), cases: cases)
    }

    @Test func geofenceAndRollUpEqualSpeciesNets() throws {
        let fixture = try Self.fixture()
        var rolledUp = 0
        for (index, entry) in fixture.cases.enumerated() {
            let labelList = entry["labels"]?.array?.compactMap { $0.string }, scoreList = entry["scores"]?.array?.compactMap { $0.number }
            let labels = try #require(labelList), scores = try #require(scoreList)
            let country = entry["country"]?.string, region = entry["admin1_region"]?.string
            let enabled = entry["enabled"] != .bool(false)
            let expected = try #require(entry["geofenced"]?.array)
            let ours = try fixture.geofence.classify(labels: labels, scores: scores, country: country, admin1Region: region,
                                                     taxonomy: fixture.taxonomy, enabled: enabled)
            #expect(ours.label == expected[0].string && ours.score == expected[1].number && ours.source == expected[2].string,
                    "case \(index): \(ours) vs \(expected)")
            if ours.source != "classifier" { rolledUp += 1 }
            let rollUp = try fixture.geofence.rollUp(labels: labels, scores: scores, country: country, admin1Region: region,
                                                     levels: SpeciesNetTaxonomy.Level.allCases, threshold: 0.65, taxonomy: fixture.taxonomy,
                                                     enabled: enabled)
            if let reference = entry["rollup_065"]?.array {
                #expect(rollUp?.label == reference[0].string && rollUp?.score == reference[1].number
                        && rollUp?.source == reference[2].string, "case \(index): \(String(describing: rollUp)) vs \(reference)")
            } else {
                #expect(rollUp == nil, "case \(index): \(String(describing: rollUp)) where speciesnet found none")
            }
        }
        #expect(rolledUp > 20, "too few geofenced cases to exercise the roll-up")
    }

    /// speciesnet's taxonomy tests, by hand: ancestors of a species and of a genus-level label.
    @Test func ancestorsAsSpeciesNetsTaxonomyTests() throws {
        let taxonomy = try Self.fixture().taxonomy
        let lion = "ddf59264-185a-4d35-b647-2785792bdf54;mammalia;carnivora;felidae;panthera;leo;lion"
        let genus = "fbb23d07-6677-43db-b650-f99ac452c50f;mammalia;carnivora;felidae;panthera;;panthera species"
        #expect(try taxonomy.ancestor(of: lion, at: .species) == lion)
        #expect(try taxonomy.ancestor(of: lion, at: .genus) == genus)
        #expect(try taxonomy.ancestor(of: lion, at: .kingdom) == SpeciesNetTaxonomy.animal)
        #expect(try taxonomy.ancestor(of: genus, at: .species) == nil)
        #expect(try taxonomy.ancestor(of: SpeciesNetTaxonomy.blank, at: .kingdom) == nil)
        #expect(try taxonomy.ancestor(of: SpeciesNetTaxonomy.animal, at: .kingdom) == SpeciesNetTaxonomy.animal)
        #expect(throws: SpeciesNetTaxonomy.InvalidLabel.self) { try taxonomy.ancestor(of: "a;b;c", at: .genus) }
        #expect(throws: SpeciesNetGeofence.InvalidRegion.self) {
            try SpeciesNetGeofence(rules: [:]).shouldGeofence(lion, country: "KE", admin1Region: nil)
        }
    }
}
