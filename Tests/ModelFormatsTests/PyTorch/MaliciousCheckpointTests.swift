import Foundation
import ModelFormats
import Testing
import TestSupport

/// Crafted files whose pickles run a shell command under Python's unpickler (the generator proves
/// each payload is live). Loading them must fail with the global named, and the command must not run.
struct MaliciousCheckpointTests {
    static let cases: [(file: String, module: String, name: String)] = [
        ("evil_os_system.pt", "os", "system"),
        ("evil_builtins_eval.pt", "builtins", "eval"),
        ("evil_subprocess_popen.pt", "subprocess", "Popen"),
        ("evil_unknown_class.pt", "models.yolo", "EvilModel"),
        ("evil_nested_in_checkpoint.pt", "os", "system"),
    ]

    @Test(arguments: cases)
    func refusedWithoutSideEffect(_ testCase: (file: String, module: String, name: String)) throws {
        let marker = FileManager.default.temporaryDirectory.appendingPathComponent("md-pwned-\(UUID().uuidString)")
        setenv("MEGADETECTOR_PWN_MARKER", marker.path, 1)
        defer { unsetenv("MEGADETECTOR_PWN_MARKER") }
        #expect(throws: ModelFormatError.disallowedPickleGlobal(module: testCase.module, name: testCase.name)) {
            try ModelLoader.load(path: Fixtures.enginePath(testCase.file))
        }
        #expect(!FileManager.default.fileExists(atPath: marker.path), "the payload ran")
    }

    /// A module tree that loops (layer 1 lists itself among its children, made by the generator with
    /// torch.save): the loader's walk over the tree (the parallel weight conversion) visits each module
    /// once and ends, and the network is the one without the loop.
    @Test func cyclicModuleTreeLoadsOnceAndEqualsTheOriginal() throws {
        let cyclic = try ModelLoader.load(path: Fixtures.enginePath("cyclic_modules.pt"))
        let original = try ModelLoader.load(path: Fixtures.enginePath("yolov5_p5_tiny.pt"))
        #expect(cyclic.network.parameterCount == original.network.parameterCount)
        var random = SeededGenerator(seed: 7)
        let input = random.tensor([1, 3, 64, 96], scale: 0.5)
        let a = try cyclic.network.run([cyclic.info.inputName: input])[cyclic.info.outputName]
        let b = try original.network.run([original.info.inputName: input])[original.info.outputName]
        #expect(a != nil && a == b)
    }

    @Test func stateDictIsNotAModel() throws {
        do {
            _ = try ModelLoader.load(path: Fixtures.enginePath("state_dict_only.pt"))
            Issue.record("a state dict loaded as a model")
        } catch let error as ModelFormatError {
            guard case let .notACheckpoint(reason) = error else { Issue.record("wrong error \(error)"); return }
            #expect(reason.contains("state dict"))
        }
    }
}
