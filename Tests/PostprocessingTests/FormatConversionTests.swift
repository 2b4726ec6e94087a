import Detection
import Imaging
import Foundation
import Postprocessing
import ResultsFormat
import Testing
import TestSupport

/// `megadetector convert` against the reference's converters (convert_output_format, md_to_coco).
struct FormatConversionTests {
    static func expected() throws -> [String: Any] {
        try Fixtures.jsonObject(at: Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/expected_convert.json"))
    }
    static func cases() throws -> [String] { try Fixtures.caseNames(try expected()["cases"], in: "expected_convert.json") }
    static let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/expected_shared.json").path

    @Test(arguments: try cases())
    func matchesTheReference(_ name: String) throws {
        let entry = try #require((try Self.expected()["cases"] as? [String: Any])?[name] as? [String: Any])
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-convert-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: output) }
        // Cases with their own input (run_md_and_speciesnet output, for the species columns).
        let input = (entry["input"] as? String).map { Fixtures.repositoryRoot.appendingPathComponent($0).path } ?? Self.input
        let arguments = try #require(entry["our_arguments"] as? [String]).map { $0 == "{input}" ? input : $0 }
        let result = try Fixtures.runCLI(["convert", input, output] + arguments)
        #expect(result.status == 0, "\(result.stderr)")
        let data = try Data(contentsOf: URL(fileURLWithPath: output))
        if let md5 = entry["md5"] as? String {
            #expect(Checksum.md5Hex(Array(data)) == md5, "CSV differs from the reference's")
            return
        }
        // COCO: annotation ids are random UUIDs and the description names the input path; blank both,
        // then the documents must be equal (same keys, order-independent, same numbers).
        var ours = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        var info = try #require(ours["info"] as? [String: Any])
        info["description"] = ""
        ours["info"] = info
        ours["annotations"] = try #require(ours["annotations"] as? [[String: Any]]).map { annotation in
            var copy = annotation
            copy["id"] = ""
            return copy
        }
        let expectedDocument = try #require(entry["normalised"] as? [String: Any])
        #expect(NSDictionary(dictionary: ours).isEqual(to: expectedDocument))
    }

    @Test func pythonRounding() {
        #expect(FormatConversion.round(1763.7119999999998, places: 3) == 1763.712)
        #expect(FormatConversion.round(2.675, places: 2) == 2.67)  // 2.675 is 2.67499999... in binary
        #expect(FormatConversion.round(0.125, places: 2) == 0.12)  // exact tie: to even
    }
}

extension FormatConversionTests {
    /// LabelMe files next to a copy of the photos, byte-identical to the reference's md_to_labelme.
    @Test func labelMeFilesMatchTheReference() throws {
        let entry = try #require(try Self.expected()["labelme"] as? [String: Any])
        let expectedFiles = try #require(entry["files"] as? [String: String])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-labelme-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let detect = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect")
        try FileManager.default.copyItem(at: detect.appendingPathComponent("synthetic"), to: folder)
        let result = try Fixtures.runCLI(["convert", detect.appendingPathComponent("expected_synthetic.json").path, folder.path]
                                         + (try #require(entry["our_arguments"] as? [String])))
        #expect(result.status == 0, "\(result.stderr)")
        let written = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".json") }.sorted()
        #expect(!expectedFiles.isEmpty)
        #expect(written == expectedFiles.keys.sorted())
        for name in written {
            #expect(Checksum.md5Hex(Array(try Data(contentsOf: folder.appendingPathComponent(name)))) == expectedFiles[name], "\(name)")
        }
    }
}

extension FormatConversionTests {
    /// Crops: the reference's file names and sizes; the results file with crop ids byte-identical.
    @Test(.requires(.shared)) func cropsMatchTheReference() throws {
        let shared = try Fixtures.requireShared()
        let entry = try #require(try Self.expected()["crops"] as? [String: Any])
        let sizes = try #require(entry["crops"] as? [String: [Int]])
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-crops-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let input = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/postprocessing/rde_input.json").path
        let withIds = folder.appendingPathComponent("with_ids.json").path
        let photos = shared.appendingPathComponent("images")
        let result = try Fixtures.runCLI(["crops", input, photos.path, folder.appendingPathComponent("crops").path,
                                          "--output-file", withIds] + (try #require(entry["our_arguments"] as? [String])))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(Checksum.md5Hex(Array(try Data(contentsOf: URL(fileURLWithPath: withIds)))) == entry["with_ids_md5"] as? String)
        let crops = folder.appendingPathComponent("crops")
        let written = try #require(FileManager.default.enumerator(atPath: crops.path)).compactMap { $0 as? String }.filter { $0.hasSuffix(".jpg") }.sorted()
        #expect(!sizes.isEmpty)
        #expect(written == sizes.keys.sorted())
        for name in written {
            let image = try ImageDecoder.decode(path: crops.appendingPathComponent(name).path).image
            #expect([image.width, image.height] == sizes[name], "\(name)")
        }
    }
}

extension FormatConversionTests {
    /// JSON -> legacy CSV -> JSON keeps every image, failure and detection (boxes to float rounding).
    @Test func legacyCSVRoundTrips() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("md-csv-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let csv = folder.appendingPathComponent("r.csv").path, json = folder.appendingPathComponent("r.json").path
        #expect(try Fixtures.runCLI(["convert", Self.input, csv, "--to", "csv"]).status == 0)
        let back = try Fixtures.runCLI(["convert", csv, json, "--to", "json"])
        #expect(back.status == 0, "\(back.stderr)")
        #expect(try Fixtures.runCLI(["validate", json]).status == 0)
        let compare = try Fixtures.runCLI(["compare", json, Self.input, "--confidence-tolerance", "0", "--coordinate-tolerance", "1e-9"])
        #expect(compare.status == 0, "\(compare.stdout)")
        let rows = LegacyCSV.parse("a,\"b, \"\"c\"\"\",d\n1,2,3\n")
        #expect(rows == [["a", "b, \"c\"", "d"], ["1", "2", "3"]])
    }
}
