import ArgumentParser
import Foundation
import Postprocessing
import ResultsFormat

struct SubsetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "subset",
        abstract: "Write a subset of a results file, or one file per folder (subset_json_detector_output).",
        discussion: "Filters run in the reference's order: query/replacement, failed images, confidence, categories, file list, box size."
    )

    @Argument(help: "Input results file.") var input: String
    @Argument(help: "Output file, or folder with --split-folders.") var output: String
    @Option(help: "Keep files whose path contains this ('^text': starts with).") var query: String?
    @Option(help: "Replace the query in kept paths (prepend if there is no query).") var replacement: String?
    @Option(help: "Drop detections below this confidence.") var confidenceThreshold: Double?
    @Option(help: "Category ids to keep, e.g. '1,2' or '1=0.5,2=0.3' (detections must be above the threshold).") var categoriesToKeep: String?
    @Option(help: "Category names to keep, e.g. 'animal' or 'animal=0.5'.") var categoryNamesToKeep: String?
    @Flag(help: "Drop images that failed.") var removeFailedImages = false
    @Option(help: "Keep only files listed in a results file, a .txt list, or present in a folder.") var keepFilesInList: String?
    @Option(help: "Drop detections smaller than this fraction of the image.") var minimumDetectionSize: Double?
    @Option(help: "Drop detections larger than this fraction of the image.") var maximumDetectionSize: Double?
    @Flag(help: "Write one file per folder into OUTPUT.") var splitFolders = false
    @Option(help: "Which folder to split by: bottom, n_from_bottom, n_from_top.") var splitFolderMode: String = "bottom"
    @Option(help: "N for n_from_bottom / n_from_top.") var splitFolderParam: Int = 0
    @Flag(help: "With --split-folders: make paths relative to each file's folder.") var makeFolderRelative = false
    @Flag(help: "With --split-folders: write each file into its folder under OUTPUT.") var copyJsonsToFolders = false
    @Flag(help: "Replace existing output files.") var overwrite = false

    func run() throws {
        try reportingErrors {
            var options = ResultsSubset.Options()
            options.query = query
            options.replacement = replacement
            options.confidenceThreshold = confidenceThreshold
            options.categoriesToKeep = try categoriesToKeep.map(Self.thresholds)
            options.categoryNamesToKeep = try categoryNamesToKeep.map(Self.thresholds)
            options.removeFailedImages = removeFailedImages
            options.keepFiles = try keepFilesInList.map(Self.fileList)
            options.minimumDetectionSize = minimumDetectionSize
            options.maximumDetectionSize = maximumDetectionSize
            if splitFolders {
                guard let mode = ResultsSubset.SplitMode(rawValue: splitFolderMode) else {
                    throw ValidationError("--split-folder-mode must be one of \(ResultsSubset.SplitMode.allCases.map(\.rawValue))")
                }
                options.splitFolders = mode
            } else if splitFolderMode != "bottom" || splitFolderParam != 0 {
                throw ValidationError("--split-folder-mode and --split-folder-param need --split-folders")
            }
            options.splitFolderParameter = splitFolderParam
            options.makeFolderRelative = makeFolderRelative
            options.copyJSONsToFolders = copyJsonsToFolders
            options.overwrite = overwrite
            let document = try ResultsInput.loadDocument(input)
            let subset = try ResultsSubset.filter(document, options)
            let written = try ResultsSubset.write(subset, to: output, options)
            let kept = subset["images"]?.array?.count ?? 0, total = document["images"]?.array?.count ?? 0
            print("Kept \(kept) of \(total) images; wrote \(written.count) file\(written.count == 1 ? "" : "s")")
        }
    }

    /// "1,2" (threshold below any confidence) or "1=0.5,2=0.3".
    static func thresholds(_ text: String) throws -> [String: Double] {
        var result: [String: Double] = [:]
        for token in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) {
            let parts = token.split(separator: "=")
            if parts.count == 1 { result[String(parts[0])] = -100_000 } else if parts.count == 2, let value = Double(parts[1]) {
                result[String(parts[0])] = value
            } else {
                throw ValidationError("bad category threshold '\(token)'")
            }
        }
        return result
    }

    static func fileList(_ path: String) throws -> Set<String> {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw ValidationError("--keep-files-in-list: \(path) does not exist")
        }
        if isDirectory.boolValue {
            let base = URL(fileURLWithPath: path).standardizedFileURL.path
            let files = FileManager.default.enumerator(atPath: base)?.compactMap { $0 as? String } ?? []
            return Set(files.filter { name in
                var directory: ObjCBool = false
                return FileManager.default.fileExists(atPath: (base as NSString).appendingPathComponent(name), isDirectory: &directory) && !directory.boolValue
            })
        }
        if path.lowercased().hasSuffix(".json") { return Set(try ResultsFile.read(path: path).images.map(\.file)) }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return Set(text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) })
    }
}
