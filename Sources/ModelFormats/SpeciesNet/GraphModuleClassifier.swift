import Engine
import Foundation

/// An image classifier saved as an onnx2torch GraphModule (SpeciesNet's released `.pt`), as a loaded
/// model: NHWC input in [0, 1], logits out. SpeciesNet's networks take 480x480 crops.
public enum GraphModuleClassifier {
    public static let speciesNetInputSize = 480

    public static func load(checkpoint: TorchCheckpoint, path: String, backend: ExecutionBackend, start: Date,
                            inputSize: Int = speciesNetInputSize) throws -> LoadedModel {
        let module = try OnnxTorchGraphModule(checkpoint, inputShape: [1, inputSize, inputSize, 3])
        let graph = try module.engineGraph()
        guard let input = graph.inputs.first else { throw ModelFormatError.malformedONNX("the graph has no input") }
        let network = try Network(graph: graph, backend: backend, planningInputShapes: [input.name: input.shape])
        let outputShape = try graph.inferShapes(inputShapes: [input.name: input.shape])[graph.outputs[0]] ?? []
        guard outputShape.count == 2, outputShape[0] == 1, outputShape[1] > 0 else {
            throw ModelFormatError.unknownArchitecture("a GraphModule whose output \(outputShape) is not classifier logits [1, classes]")
        }
        let constantParameters = graph.constants.values.reduce(0) { $0 + $1.count }
        let info = ModelInfo(
            path: path, format: "PyTorch torch.fx GraphModule (onnx2torch), forward code parsed as data, never executed",
            architecture: "image classifier, \(module.code.statements.count) generated statements, \(graph.nodes.count) nodes after fusion; output \(graph.outputs[0]) \(outputShape)",
            parameterCount: network.parameterCount + constantParameters, classNames: [], strides: [], anchorsInPixels: [],
            defaultInputSize: inputSize, storagePrecision: "float32", layerCount: graph.nodes.count, outputKind: .classifierLogits,
            inputName: input.name, outputName: graph.outputs[0], inputShape: input.shape, loadSeconds: Date().timeIntervalSince(start))
        return LoadedModel(network: network, info: info)
    }
}
