import ResultsFormat
import Testing

/// Each rule of the reference validator, on small documents.
struct ResultsValidatorTests {
    static func document(info: String = "{\"format_version\": \"1.6\"}", categories: String = "{\"1\": \"animal\"}",
                         images: String) -> JSONValue {
        try! JSONParser.parse(Array("{\"images\": \(images), \"detection_categories\": \(categories), \"info\": \(info)}".utf8))
    }

    @Test func acceptsAValidFile() {
        let report = ResultsValidator.validate(Self.document(images: """
            [{"file": "a.jpg", "detections": [{"category": "1", "conf": 0.5, "bbox": [0.1, 0.1, 0.2, 0.2]}]},
             {"file": "b.jpg", "failure": "image access failure", "detections": null}]
            """))
        #expect(report.isValid)
        #expect(report.imageCount == 2)
        #expect(report.detectionCounts == ["1": 1])
    }

    @Test(arguments: [
        (document(info: "{}", images: "[]"), "Input does not specify format version"),
        (document(info: "{\"format_version\": 1.6}", images: "[]"), "format_version is not a string"),
        (document(info: "{\"format_version\": \"1.2\"}", images: "[]"), "format version 1.3 or later"),
        (document(categories: "{\"x\": \"animal\"}", images: "[]"), "Invalid detection category ID: x"),
        (document(categories: "{\"1\": \" \"}", images: "[]"), "category name is blank"),
        (document(images: "[{\"detections\": []}]"), "Image without filename at index 0"),
        (document(images: "[{\"file\": \"a\", \"detections\": [{\"category\": \"1\", \"conf\": 1, \"bbox\": []}]}]"), "illegal confidence"),
        (document(images: "[{\"file\": \"a\", \"detections\": [{\"category\": \"7\", \"conf\": 0.5, \"bbox\": []}]}]"), "unmapped category 7"),
        (document(images: "[{\"file\": \"a\", \"detections\": [{\"category\": \"1\", \"conf\": 0.5, \"bbox\": [0.1, 0.2, 0.3]}]}]"),
         "Image a has a detection whose box is not 4 numbers"),
        (document(images: "[{\"file\": \"a\", \"failure\": \"x\", \"detections\": []}]"), "failure value but a non-null detections"),
        (document(images: "[{\"file\": \"a\"}]"), "Invalid detections list for image a"),
        (document(images: "[{\"file\": \"v.mp4\", \"detections\": []}]"), "Video without frames_processed"),
    ])
    func rejectsWithTheReferenceMessage(_ document: JSONValue, _ message: String) {
        let report = ResultsValidator.validate(document)
        #expect(!report.isValid)
        #expect(report.errors.first?.contains(message) == true, "\(report.errors)")
    }
}
