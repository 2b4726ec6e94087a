import Engine
import Foundation
@testable import ModelFormats
import Testing
import TestSupport

/// SpeciesNet's classifier file format (onnx2torch's `torch.fx.GraphModule`), read as data: a
/// small network of the real file's operators (Tests/Fixtures/speciesnet/generate_speciesnet_fixtures.py)
/// gives PyTorch's logits, and files whose generated code or globals go beyond what such files hold are
/// refused, naming the problem, with nothing executed.
struct SpeciesNetGraphModuleTests {
    static let folder = Fixtures.repositoryRoot.appendingPathComponent("Tests/Fixtures/speciesnet")

    static func expected() throws -> (input: Tensor, float32: [Float], float64: [Double]) {
        let table = try Fixtures.jsonObject(at: folder.appendingPathComponent("expected_logits.json"))
        guard let shape = table["input_shape"] as? [Int], let input = table["input"] as? [Double],
              let float32 = table["logits_float32"] as? [Double], let float64 = table["logits_float64"] as? [Double] else {
            throw Fixtures.FixtureError.missing("expected_logits.json lacks input or logits")
        }
        return (Tensor(shape: shape, values: input.map(Float.init)), float32.map(Float.init), float64)
    }

    static func run(_ graph: Graph, input: Tensor, backend: ExecutionBackend) throws -> [Float] {
        let network = try Network(graph: graph, backend: backend, planningInputShapes: [graph.inputs[0].name: input.shape])
        return try #require(try network.run([graph.inputs[0].name: input])[graph.outputs[0]]).values
    }

    /// Our logits against PyTorch's float32 run, judged by the distance of each to the float64 run.
    @Test(arguments: [ExecutionBackend.oneDNN, .reference])
    func graphModuleGivesPyTorchsLogits(_ backend: ExecutionBackend) throws {
        let (input, float32, float64) = try Self.expected()
        let checkpoint = try TorchCheckpoint(path: Self.folder.appendingPathComponent("speciesnet_like_tiny.pt").path)
        #expect(OnnxTorchGraphModule.isGraphModule(checkpoint))
        let module = try OnnxTorchGraphModule(checkpoint, inputShape: input.shape)
        #expect(module.code.statements.count == 33)  // 28 module calls, 5 initializer reads
        let ours = try Self.run(try module.engineGraph(), input: input, backend: backend)
        #expect(ours.count == 7)
        let ourError = zip(ours, float64).map { abs(Double($0) - $1) }.max() ?? .nan
        let torchError = zip(float32, float64).map { abs(Double($0) - $1) }.max() ?? .nan
        // Float32 noise: within 4x PyTorch fp32's own distance to float64, and 1e-5 absolute.
        #expect(ourError <= max(4 * torchError, 1e-5), "ours \(ourError), PyTorch fp32 \(torchError)")
    }

    /// The ONNX graph it was converted from (what a user's tf2onnx export is) gives the same logits.
    @Test func onnxExportGivesTheSameLogits() throws {
        let (input, _, float64) = try Self.expected()
        let loaded = try ONNXModel.load(path: Self.folder.appendingPathComponent("speciesnet_like_tiny.onnx").path, backend: .oneDNN)
        let outputs = try loaded.network.run([loaded.info.inputName: input])
        let ours = try #require(outputs[loaded.info.outputName]).values
        #expect(zip(ours, float64).allSatisfy { abs(Double($0.0) - $0.1) < 1e-4 }, "\(ours) vs \(float64)")
    }

    @Test(arguments: ["crafted_code_import.pt", "crafted_code_call.pt", "crafted_global.pt"])
    func craftedFilesAreRefusedWithoutRunningAnything(_ name: String) throws {
        let markers = ["/tmp/md-crafted-pwned", "/tmp/md-crafted-pwned-2"]
        for marker in markers { try? FileManager.default.removeItem(atPath: marker) }
        let path = Self.folder.appendingPathComponent(name).path
        var message = ""
        do {
            let checkpoint = try TorchCheckpoint(path: path)
            _ = try OnnxTorchGraphModule(checkpoint, inputShape: [1, 64, 64, 3])
            Issue.record("\(name) was accepted")
        } catch {
            message = "\(error)"
        }
        switch name {
        case "crafted_code_import.pt": #expect(message.contains("line 4 (`import os`)"), "\(message)")
        case "crafted_code_call.pt": #expect(message.contains("the right-hand side must be a submodule of self"), "\(message)")
        default: #expect(message.contains("posix.system"), "\(message)")
        }
        for marker in markers { #expect(!FileManager.default.fileExists(atPath: marker), "\(marker) was created") }
    }

    @Test func codeGrammarAcceptsOnlyStraightLineCalls() throws {
        let good = """

            def forward(self, x):
                a = getattr(self, "m/conv")(x);  x = None
                w = self.initializers.onnx_initializer_0
                b = self.block.add(a, w);  a = w = None
                return b

            """
        let code = try FXGraphCode(parsing: good)
        #expect(code.input == "x" && code.output == "b")
        #expect(code.statements == [.call(target: "a", module: ["m/conv"], arguments: ["x"]),
                                    .attribute(target: "w", path: ["initializers", "onnx_initializer_0"]),
                                    .call(target: "b", module: ["block", "add"], arguments: ["a", "w"])])
        let refused = [
            "def forward(self, x):\n    a = x + 1\n    return a",
            "def forward(self, x):\n    a = getattr(self, \"m\")(x, 2)\n    return a",
            "def forward(self, x):\n    a = getattr(self, \"m\")(y)\n    return a",
            "def forward(self, x):\n    a = __import__(\"os\")\n    return a",
            "def forward(self, x):\n    a = getattr(self, \"m\")(x).system\n    return a",
            "def forward(self, x):\n    if x:\n        return x",
            "def forward(self, x):\n    return x\n    a = getattr(self, \"m\")(x)",
            "def forward(self, x):\n    a = getattr(self, \"m\\\\\")(x)\n    return a",
            "class A:\n    pass",
        ]
        for text in refused {
            #expect(throws: FXGraphCode.RefusedCode.self, "\(text)") { try FXGraphCode(parsing: text) }
        }
    }
}
