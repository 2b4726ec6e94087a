import ArgumentParser
import Foundation

/// The rule every command that writes a results file or a pages folder follows: an existing output is
/// replaced only when asked (--overwrite), and never when it is one of the command's inputs.
enum OutputGuard {
    static func check(_ output: String, overwrite: Bool, inputs: [String]) throws {
        let target = URL(fileURLWithPath: output).standardizedFileURL.resolvingSymlinksInPath().path
        if let input = inputs.first(where: { URL(fileURLWithPath: $0).standardizedFileURL.resolvingSymlinksInPath().path == target }) {
            throw ValidationError("output \(output) is the input \(input); write to another file")
        }
        var isFolder: ObjCBool = false
        guard FileManager.default.fileExists(atPath: output, isDirectory: &isFolder), !overwrite else { return }
        if isFolder.boolValue, (try? FileManager.default.contentsOfDirectory(atPath: output))?.isEmpty == true { return }
        throw ValidationError("output \(output) exists (use --overwrite)")
    }
}
