import Classification
import Foundation
import ResultsFormat
import Testing
import TestSupport

/// The ensemble rules against speciesnet's `combine_predictions` (Tests/Fixtures/speciesnet/
/// expected_ensemble.json, made by generate_speciesnet_predictions.py): its own unit tests' cases (with
/// their taxonomy and geofence maps) and seeded cases around every threshold on the fixture model's.
/// Label, source and score must be equal; the score is one of the inputs or a sum of them in
/// speciesnet's order, so equality is exact.
struct SpeciesNetEnsembleTests {
    static let fixturePath = SpeciesNetCropTests.folder.appendingPathComponent("expected_ensemble.json")

    struct Fixture {
        var table: JSONObject
        var modelTaxonomy: SpeciesNetTaxonomy
        var modelGeofence: SpeciesNetGeofence

        /// A case's maps: the model folder's, or those of speciesnet's unit tests named by the case.
        func ensemble(for entry: JSONObject) throws -> SpeciesNetEnsemble {
            var taxonomy = modelTaxonomy, geofence = modelGeofence
            if let name = entry["taxonomy"]?.string {
                let map = try #require(table["taxonomies"]?.object?[name]?.object, "taxonomy \(name)")
                taxonomy = SpeciesNetTaxonomy(map: Dictionary(uniqueKeysWithValues: map.entries.compactMap { entry in entry.value.string.map { (entry.key, $0) } }))
            }
            if let name = entry["geofence"]?.string {
                geofence = try SpeciesNetEnsembleTests.geofence(try #require(table["geofences"]?.object?[name], "geofence \(name)"))
            }
            return SpeciesNetEnsemble(taxonomy: taxonomy, geofence: geofence, geofenceEnabled: entry["enable_geofence"] != .bool(false))
        }
    }

    static func fixture() throws -> Fixture {
        let table = try #require(try JSONParser.parse([UInt8](try Data(contentsOf: Self.fixturePath))).object)
        let folder = SpeciesNetCropTests.folder
        let taxonomyFile = try #require(table["taxonomy_file"]?.string), geofenceFile = try #require(table["geofence_file"]?.string)
        return Fixture(table: table, modelTaxonomy: try SpeciesNetTaxonomy(file: folder.appendingPathComponent(taxonomyFile).path),
                       modelGeofence: try SpeciesNetGeofence(file: folder.appendingPathComponent(geofenceFile).path))
    }

    /// One item: the classifier's classes and scores and the detector's label and confidence.
    static func combine(_ item: JSONObject, settings: JSONObject, with ensemble: SpeciesNetEnsemble) throws -> SpeciesNetGeofence.Prediction {
        let labelList = item["classes"]?.array?.compactMap { $0.string }, scoreList = item["scores"]?.array?.compactMap { $0.number }
        let labels = try #require(labelList), scores = try #require(scoreList)
        let label = try #require(SpeciesNetEnsemble.DetectionLabel(rawValue: item["detection_label"]?.string ?? ""))
        let confidence = try #require(item["detection_conf"]?.number)
        return try ensemble.combine(labels: labels, scores: scores, detection: label, confidence: confidence,
                                    country: settings["country"]?.string, admin1Region: settings["admin1_region"]?.string)
    }

    static func matches(_ ours: SpeciesNetGeofence.Prediction, _ expected: JSONObject?) -> Bool {
        ours.label == expected?["class"]?.string && ours.score == expected?["score"]?.number && ours.source == expected?["source"]?.string
    }

    /// Single items: speciesnet's unit-test cases (with the real geofence and roll-up functions, not its
    /// mocks) and 400 seeded cases around every threshold on the model folder's maps.
    @Test func ensembleEqualsSpeciesNets() throws {
        let fixture = try Self.fixture()
        let caseList = fixture.table["cases"]?.array?.compactMap { $0.object }
        let cases = try #require(caseList)
        #expect(cases.count >= 400)
        var sources: Set<String> = []
        for (index, entry) in cases.enumerated() {
            let ours = try Self.combine(entry, settings: entry, with: try fixture.ensemble(for: entry))
            #expect(Self.matches(ours, entry["expected"]?.object), "case \(index) \(entry["name"]?.string ?? ""): \(ours) vs \(String(describing: entry["expected"]))")
            sources.insert(ours.source)
        }
        // The cases reach the detector's rules, the classifier's, geofencing and roll-ups.
        #expect(sources.isSuperset(of: ["detector", "classifier"]), "\(sources)")
        #expect(sources.contains { $0.contains("geofence") } && sources.contains { $0.contains("rollup") }, "\(sources)")
    }

    /// speciesnet's batch tests: each item of a batch ensembled on its own, in order.
    @Test func batchesEqualSpeciesNets() throws {
        let fixture = try Self.fixture()
        let batchList = fixture.table["batch_cases"]?.array?.compactMap { $0.object }
        let batches = try #require(batchList)
        #expect(!batches.isEmpty)
        var compared = 0
        for batch in batches {
            // speciesnet's test of a classification list shorter than the detections: ours pairs each
            // detection with its own classification, so there is no list to mismatch.
            if batch["expected_error"] != nil { continue }
            let ensemble = try fixture.ensemble(for: batch)
            let items = batch["items"]?.array?.compactMap { $0.object } ?? [], expected = batch["expected"]?.array?.compactMap { $0.object } ?? []
            #expect(items.count == expected.count, "\(batch["name"]?.string ?? "")")
            compared += items.count
            for (item, reference) in zip(items, expected) {
                let ours = try Self.combine(item, settings: batch, with: ensemble)
                #expect(Self.matches(ours, reference), "\(batch["name"]?.string ?? ""): \(ours) vs \(reference)")
            }
        }
        #expect(compared >= 5)
    }

    /// A geofence map written inline in a case: {taxon: {allow|block: {country: [regions]}}}.
    static func geofence(_ value: JSONValue) throws -> SpeciesNetGeofence {
        var rules: [String: [String: [String: [String]]]] = [:]
        for (taxon, rule) in value.object?.entries ?? [] {
            for (kind, countries) in rule.object?.entries ?? [] {
                for (country, regions) in countries.object?.entries ?? [] {
                    rules[taxon, default: [:]][kind, default: [:]][country] = regions.array?.compactMap(\.string) ?? []
                }
            }
        }
        return SpeciesNetGeofence(rules: rules)
    }
}
