import Foundation
import ResultsFormat
import Testing
import TestSupport

struct JSONWriterTests {
    /// The reference package wrote these files with json.dump(indent=1); parsing and re-serialising
    /// them must give back the same bytes (key order, float repr, escapes, indentation).
    @Test(arguments: ["expected_shared.json", "expected_synthetic.json"])
    func reproducesTheReferenceWriterByteForByte(_ name: String) throws {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/\(name)")
        let original = try String(contentsOf: url, encoding: .utf8)
        let value = try JSONParser.parse(Array(original.utf8))
        #expect(JSONWriter.serialize(value) == original)
        // And through the typed model, which is what `detect` writes.
        let typed = try ResultsFile.read(path: url.path)
        #expect(typed.serialized() == original)
    }

    @Test(arguments: [
        (0.2, "0.2"), (0.0, "0.0"), (1e-05, "1e-05"), (0.0001, "0.0001"), (1.0, "1.0"), (123456.0, "123456.0"),
        (1e16, "1e+16"), (1e15, "1000000000000000.0"), (0.1 + 0.2, "0.30000000000000004"), (-2.5e-07, "-2.5e-07"),
        (0.9093, "0.9093"), (1.0 / 3.5, "0.2857142857142857"), (123.456, "123.456"),
    ])
    func floatsPrintLikePythonRepr(value: Double, expected: String) {
        #expect(JSONWriter.pythonRepr(value) == expected)
    }

    @Test func escapesLikeEnsureAscii() {
        let value = JSONValue.object(JSONObject([("file", .string("café/Ünïcode \"q\"\\\n🦉.jpg")), ("empty", .array([])), ("o", .object(JSONObject()))]))
        #expect(JSONWriter.serialize(value) == "{\n \"file\": \"caf\\u00e9/\\u00dcn\\u00efcode \\\"q\\\"\\\\\\n\\ud83e\\udd89.jpg\",\n \"empty\": [],\n \"o\": {}\n}")
    }

    @Test func parserReportsPositionOfErrors() throws {
        do {
            _ = try JSONParser.parse(Array("{\"a\": 1\n  \"b\": 2}".utf8))
            Issue.record("accepted a missing comma")
        } catch let failure as JSONParser.Failure {
            #expect(failure.line == 2 && failure.column == 3 && failure.reason == "expected ',' or '}'")
        }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(Array("[1, 2".utf8)) }
        #expect(try JSONParser.parse(Array("[1, 1.0, -0.5e-3]".utf8)) == .array([.int(1), .double(1.0), .double(-0.0005)]))
    }
}

extension JSONWriterTests {
    /// The streaming writer the batch service uses gives the same bytes as the reference writer, for
    /// the reference's own files (failures, several detections per photo) and for an empty file.
    @Test(arguments: ["expected_shared.json", "expected_synthetic.json"])
    func streamingWriterReproducesTheReferenceFile(_ name: String) throws {
        let url = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/detect/\(name)")
        let original = try String(contentsOf: url, encoding: .utf8)
        let typed = try ResultsFile.read(path: url.path)
        var writer = ResultsStreamWriter(detectionCategories: typed.detectionCategories, info: typed.info)
        var text = ""
        for image in typed.sortedForWriting().images { text += writer.text(for: image) }
        text += writer.closingText()
        #expect(typed.images.count > 3)
        #expect(text == original)

        let empty = ResultsFile(images: [], info: typed.info)
        #expect(ResultsStreamWriter(info: typed.info).closingText() == empty.serialized())
    }
}
