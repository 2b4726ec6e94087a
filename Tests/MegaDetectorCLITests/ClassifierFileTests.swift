import Foundation
import Testing
import TestSupport

/// SpeciesNet-style classifier files (onnx2torch GraphModules) through the CLI: `model-info` describes
/// them, `detect` refuses them as detectors, and a crafted one is refused naming the line.
struct ClassifierFileTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/speciesnet")

    @Test func modelInfoDescribesAGraphModuleClassifier() throws {
        let result = try Fixtures.runCLI(["model-info", Self.folder.appendingPathComponent("speciesnet_like_tiny.pt").path])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("torch.fx GraphModule (onnx2torch), forward code parsed as data, never executed"))
        #expect(result.stdout.contains("classifier logits [N, classes]") && result.stdout.contains("1x480x480x3"))
    }

    @Test func detectRefusesAClassifierAsItsModel() throws {
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("md-classifier-\(UUID().uuidString).json").path
        let result = try Fixtures.runCLI(["detect", Self.folder.appendingPathComponent("speciesnet_like_tiny.pt").path,
                                          DetectCommandTests.fixtures.appendingPathComponent("synthetic").path, output])
        #expect(result.status != 0)
        #expect(result.stderr.contains("is an image classifier"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: output))
    }

    @Test func craftedCodeIsRefusedByTheCLI() throws {
        let marker = "/tmp/md-crafted-pwned"
        try? FileManager.default.removeItem(atPath: marker)
        let result = try Fixtures.runCLI(["model-info", Self.folder.appendingPathComponent("crafted_code_import.pt").path])
        #expect(result.status != 0)
        #expect(result.stderr.contains("refused at line 4 (`import os`)"), "\(result.stderr)")
        #expect(!FileManager.default.fileExists(atPath: marker))
    }
}
