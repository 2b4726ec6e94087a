import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct SmoothClassificationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smooth-classifications",
        abstract: "Smooth species labels within each photo, or within each sequence (classification_postprocessing's smooth_classification_results_image_level / _sequence_level).",
        discussion: """
        The detections of a photo (with --sequences: of all photos of a sequence, from a COCO Camera Traps \
        file's seq_id and file_name) vote: the majority's species replaces "other" labels (animal, blank, \
        ...), rare disagreeing species and parent taxa. Only each detection's top classification is kept, \
        as the reference keeps it. Defaults are the reference's.
        """
    )

    @Argument(help: "Results file with classifications.") var input: String
    @Argument(help: "Results file to write.") var output: String
    @Option(help: "COCO Camera Traps file whose images carry seq_id and file_name: smooth per sequence.") var sequences: String?
    @Option(help: "Rare species are overwritten only when the dominant one has at least this many detections.") var minDetectionsToOverwriteSecondary = 4
    @Option(help: "... and the rare one at most this many.") var maxDetectionsNondominantClass = 1
    @Option(help: "Within-family smoothing: the dominant species needs at least this many detections.") var minDetectionsToOverwriteSecondarySameFamily = 2
    @Option(help: "Within-family smoothing: a species with more than this many is kept (the default -1 turns it off, as in the reference).") var maxDetectionsNondominantClassSameFamily = -1
    @Option(help: "\"Other\" labels are overwritten when the dominant species has at least this many detections.") var minDetectionsToOverwriteOther = 2
    @Option(help: "Comma-separated classification names treated as \"other\".") var otherCategoryNames = "other,unknown,no cv result,animal,blank,mammal"
    @Option(help: "Classifications count only at or above this score.") var classificationConfidenceThreshold = 0.5
    @Option(help: "Detections count only at or above this confidence.") var detectionConfidenceThreshold = 0.15
    @Flag(help: "Do not replace parent taxa by a descendant present.") var noTaxonomyPropagation = false
    @Option(help: "Taxonomy propagation: weight of the taxonomic level.") var taxonomyPropagationLevelWeight = 1.0
    @Option(help: "Taxonomy propagation: weight of the count.") var taxonomyPropagationCountWeight = 0.01
    @Flag(help: "Do not add pre_smoothing_description to each photo.") var noPreSmoothingDescription = false
    @Option(help: "Comma-separated detection categories to smooth, or 'all'.") var detectionCategoryNamesToSmooth = "animal"

    func run() throws {
        try reportingErrors {
            var options = ClassificationSmoothing.Options()
            options.minDetectionsToOverwriteSecondary = minDetectionsToOverwriteSecondary
            options.maxDetectionsNondominantClass = maxDetectionsNondominantClass
            options.minDetectionsToOverwriteSecondarySameFamily = minDetectionsToOverwriteSecondarySameFamily
            options.maxDetectionsNondominantClassSameFamily = maxDetectionsNondominantClassSameFamily
            options.minDetectionsToOverwriteOther = minDetectionsToOverwriteOther
            options.otherCategoryNames = otherCategoryNames.split(separator: ",").map(String.init)
            options.classificationConfidenceThreshold = classificationConfidenceThreshold
            options.detectionConfidenceThreshold = detectionConfidenceThreshold
            options.propagateClassificationsThroughTaxonomy = !noTaxonomyPropagation
            options.taxonomyPropagationLevelWeight = taxonomyPropagationLevelWeight
            options.taxonomyPropagationCountWeight = taxonomyPropagationCountWeight
            options.addPreSmoothingDescription = !noPreSmoothingDescription
            options.detectionCategoryNamesToSmooth = detectionCategoryNamesToSmooth == "all" ? nil
                : detectionCategoryNamesToSmooth.split(separator: ",").map(String.init)
            let document = try ResultsInput.loadDocument(input)
            let smoothed: JSONObject
            if let sequences {
                let membership = try ClassificationSmoothing.sequences(cct: try ResultsFile.readJSONObject(path: sequences))
                let result = try ClassificationSmoothing.sequenceLevel(document, sequences: membership, options: options)
                if !result.missing.isEmpty {
                    FileHandle.standardError.write(Data("Warning: \(result.missing.count) files of the sequences are not in the results, e.g. \(result.missing[0])\n".utf8))
                }
                smoothed = result.document
            } else {
                smoothed = try ClassificationSmoothing.imageLevel(document, options: options)
            }
            // As the reference's write_json: indent 1, ASCII, no final newline.
            try AtomicFile.write(Data(JSONWriter.serialize(.object(smoothed), indent: 1).utf8), to: output)
            print("Output file saved at \(output)")
        }
    }
}
