import ArgumentParser
import Classification
import Diagnostics
import Engine
import Foundation
import Postprocessing
import ResultsFormat

struct ClassifyCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "classify",
        abstract: "Add SpeciesNet species labels to a MegaDetector results file (run_md_and_speciesnet --detections_file).",
        discussion: """
        Detections at or above --detection-threshold (0.1) are cropped and classified by the SpeciesNet \
        model in CLASSIFIER (a folder with info.json, the classifier .pt or .onnx, labels, taxonomy and \
        geofence files). With --country (ISO 3166-1 alpha-3, and --admin1-region for the USA) a species \
        not found there is rolled up to an ancestor that is; otherwise the label is rolled up the taxonomy \
        until its summed score reaches --rollup-target-confidence (0.65), unless --no-rollup. Detections get \
        "classifications" ([[id, score]]), the file "classification_categories" and \
        "classification_category_descriptions", as the reference writes them.
        """
    )

    @Argument(help: "MegaDetector results file.") var results: String
    @Argument(help: "Folder the results' relative file names are relative to.") var imageFolder: String
    @Argument(help: "Results file to write, with classifications.") var output: String
    @Option(help: "SpeciesNet model folder.") var classifier: String
    @Option(help: "Classify detections at or above this confidence.") var detectionThreshold: Double = 0.1
    @Option(help: "Country for geofencing (ISO 3166-1 alpha-3, e.g. KEN, USA).") var country: String?
    @Option(help: "Region within the country for geofencing (e.g. CA for California).") var admin1Region: String?
    @Flag(help: "No taxonomic roll-up.") var noRollup = false
    @Option(help: "Roll up until the summed score passes this.") var rollupTargetConfidence: Double = 0.65
    @Option(help: "At most this many classifications per detection.") var topScores: Int = 2
    @Flag(help: "Also write the classifier's own scores before geofencing and roll-up (raw_classifications).") var includeRawClassifications = false
    @OptionGroup var engine: EngineOptions

    func run() throws {
        try reportingErrors {
            engine.apply()
            guard topScores >= 1 else { throw ValidationError("--top-scores must be at least 1") }
            if admin1Region != nil, country == nil { throw ValidationError("--admin1-region needs --country") }
            var options = DetectionClassification.Options()
            options.detectionThreshold = detectionThreshold
            options.rollUp = !noRollup
            options.rollUpTargetConfidence = rollupTargetConfidence
            options.country = country
            options.admin1Region = admin1Region
            options.topScores = topScores
            options.includeRawClassifications = includeRawClassifications
            let model = try SpeciesNetClassifier(folder: classifier, backend: engine.backend)
            let run = try DetectionClassification(classifier: model, options: options)
            var classified = try run.run(try ResultsFile.read(path: results), photo: { file in
                file.hasPrefix("/") ? file : (imageFolder as NSString).appendingPathComponent(file)
            }, log: { FileHandle.standardError.write(Data(($0 + "\n").utf8)) })
            let count = DetectionClassification.record(classifier: classifier, in: &classified)
            try classified.write(to: output)
            print("Classified \(count) detections into \(classified.classificationCategories?.count ?? 0) categories; wrote \(output)")
        }
    }
}
