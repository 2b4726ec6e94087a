import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct RestrictClassificationsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restrict-classifications",
        abstract: "Move species labels onto a custom species list (classification_postprocessing's restrict_to_taxa_list).",
        discussion: """
        TAXA_LIST is a CSV with a header: latin, common and optionally original_common (e.g. \
        "canis latrans,coyote"). Every classification category goes to the nearest taxon on the list that \
        the SpeciesNet taxonomy file (--taxonomy, e.g. taxonomy_release.txt of the model folder) puts above \
        it, or to "animal"; blank, vehicle, human and --protected-common-names stay. Categories that end \
        with the same name are then merged. Each photo gets pre_filtering_description and \
        post_filtering_description.
        """
    )

    @Argument(help: "Results file with classifications and classification_category_descriptions.") var input: String
    @Argument(help: "Results file to write.") var output: String
    @Option(help: "The species list (CSV: latin, common[, original_common]).") var taxaList: String
    @Option(help: "SpeciesNet taxonomy file (taxonomy_release.txt).") var taxonomy: String
    @Flag(help: "Where a listed taxon has a single listed line below it, go down to it.") var allowWalkDown = false
    @Option(help: "Comma-separated common names whose categories are kept as they are.") var protectedCommonNames: String?
    @Flag(help: "Use the common column even where original_common is given.") var noOriginalCommonNames = false
    @Option(help: "Score threshold for the two descriptions (default 0.5).") var classificationThreshold: Double?
    @Flag(help: "Do not merge categories that end with the same name.") var noCombine = false
    @Flag(help: "Do not add pre_filtering_description.") var noPreFilteringDescription = false
    @Flag(help: "Do not add post_filtering_description.") var noPostFilteringDescription = false
    @Flag(help: "Refuse a latin name listed twice (by default the first is kept).") var noRedundantLatinNames = false

    func run() throws {
        try reportingErrors {
            var options = TaxaListRestriction.Options()
            options.allowWalkDown = allowWalkDown
            options.protectedCommonNames = protectedCommonNames.map { $0.split(separator: ",").map(String.init) }
            options.useOriginalCommonNamesIfAvailable = !noOriginalCommonNames
            options.classificationThreshold = classificationThreshold
            options.combineRedundantCategories = !noCombine
            options.addPreFilteringDescription = !noPreFilteringDescription
            options.addPostFilteringDescription = !noPostFilteringDescription
            options.allowRedundantLatinNames = !noRedundantLatinNames
            let document = try ResultsInput.loadDocument(input)
            let restricted = try TaxaListRestriction.restrict(document, taxaList: try String(contentsOfFile: taxaList, encoding: .utf8),
                                                              taxonomy: try String(contentsOfFile: taxonomy, encoding: .utf8), options: options)
            // As the reference's write_json: indent 1, ASCII, no final newline.
            try AtomicFile.write(Data(JSONWriter.serialize(.object(restricted), indent: 1).utf8), to: output)
            let categories = restricted["classification_categories"]?.object?.entries.count ?? 0
            print("\(categories) classification categories after restriction; output file saved at \(output)")
        }
    }
}
