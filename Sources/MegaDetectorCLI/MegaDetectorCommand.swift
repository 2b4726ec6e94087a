import ArgumentParser
import Engine
import Foundation
import ModelFormats
import Diagnostics

@main
struct MegaDetectorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "megadetector",
        abstract: "MegaDetector in Swift: find animals, people and vehicles in camera-trap photos.",
        subcommands: [DetectCommand.self, RenderCommand.self, ReportCommand.self, ValidateCommand.self, CompareCommand.self, SeparateCommand.self, SubsetCommand.self, CombineCommand.self, MergeCommand.self, ConvertCommand.self, RepeatDetectionCommand.self, VisualizeCommand.self, VisualizeVideoCommand.self, ClassifyCommand.self, SmoothClassificationsCommand.self, RestrictClassificationsCommand.self, CropsCommand.self, ModelInfoCommand.self, CalibrateCommand.self, InferRawCommand.self, ServeCommand.self, WorkerCommand.self, HashKeyCommand.self]
    )
}

/// Options every command that runs a model shares.
struct EngineOptions: ParsableArguments {
    @Option(help: "Threads for the convolutions.")
    var threads: Int = 2

    @Option(help: "Convolution backend: onednn (fast) or reference (plain Swift, slow; for checking).")
    var backend: ExecutionBackend = .oneDNN

    func apply() {
        OneDNN.setThreads(max(threads, 1))
    }
}

extension ExecutionBackend: ExpressibleByArgument {}

/// Runs `body`; a thrown error becomes one line on stderr and exit code 1 (no stack trace, no crash).
func reportingErrors(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as ExitCode {
        throw error
    } catch {
        FileHandle.standardError.write(Data("error: \(ErrorMessage.sentence(for: error))\n".utf8))
        throw ExitCode(1)
    }
}
