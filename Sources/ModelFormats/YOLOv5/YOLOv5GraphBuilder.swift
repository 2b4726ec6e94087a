import Engine
import Foundation

/// Builds an engine graph from the module tree of a pickled YOLOv5 `DetectionModel` (MDv5a/b,
/// YOLOv5x6, YOLOv5s, ...). Each layer of `model.model` names its inputs in `f` (-1 = previous layer);
/// its output value is named `model.<index>`, so a dump lines up with PyTorch forward hooks.
/// BatchNorm is folded into the preceding convolution; SiLU and residual additions are fused into it.
struct YOLOv5GraphBuilder {
    private var assembler: TorchGraphAssembler
    private var checkpoint: TorchCheckpoint { assembler.checkpoint }

    static let inputName = "images"
    static let outputName = "output"

    init(checkpoint: TorchCheckpoint) {
        assembler = TorchGraphAssembler(checkpoint: checkpoint)
    }

    struct Result {
        var graph: Graph
        var detect: YOLOv5Detect
        var layerTypes: [String]
        var storageTypes: Set<String>
    }

    mutating func build(model: PickleObject) throws -> Result {
        let layers = try assembler.planLayers(of: model, inputName: Self.inputName, outputName: Self.outputName)
        var detect: YOLOv5Detect?
        for layer in layers {
            let (index, name, inputs, output) = (layer.index, layer.name, layer.inputs, layer.output)
            switch layer.typeName {
            case "Conv", "DWConv":
                try assembler.addConv(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "C3":
                try assembler.addC3(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "SPPF":
                try assembler.addSPPF(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "SPP":
                try addSPP(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "Focus":
                try addFocus(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "Concat":
                let dimension = layer.module["d"]?.int ?? 1
                guard dimension == 1 else { throw ModelFormatError.unsupportedModule(type: "Concat(d=\(dimension))", layer: index) }
                add(name, Concat(axis: 1), inputs, [output])
            case "Upsample":
                add(name, try assembler.upsample(layer.module, layer: index), [inputs[0]], [output])
            case "MaxPool2d":
                add(name, try assembler.maxPool(layer.module, layer: index), [inputs[0]], [output])
            case "Detect":
                guard output == Self.outputName else {
                    throw ModelFormatError.unknownArchitecture("Detect must be the last layer (found at \(index))")
                }
                detect = try addDetect(layer.module, name: name, inputs: inputs, output: output, layer: index)
            default:
                throw ModelFormatError.unsupportedModule(type: layer.module.type.description, layer: index)
            }
        }
        guard let detect else { throw ModelFormatError.unknownArchitecture("the last layer is not a YOLOv5 Detect head") }
        let graph = try Graph(inputs: [Graph.Input(name: Self.inputName, shape: [1, 3, -1, -1])],
                              outputs: [Self.outputName], nodes: assembler.nodes)
        return Result(graph: graph, detect: detect, layerTypes: layers.map(\.typeName), storageTypes: assembler.storageTypes)
    }

    private mutating func add(_ name: String, _ operation: any GraphOperation, _ inputs: [String], _ outputs: [String]) {
        assembler.add(name, operation, inputs, outputs)
    }

    // MARK: - Blocks

    private mutating func addSPP(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let pools = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "SPP without cv1/cv2/m", layer: layer)
        }
        try assembler.addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        var branches = ["\(name).cv1"]
        for (position, entry) in pools.modules.enumerated() {
            guard let pool = entry.object else { throw ModelFormatError.unsupportedModule(type: "SPP.m[\(position)]", layer: layer) }
            add("\(name).m.\(position)", try assembler.maxPool(pool, layer: layer), ["\(name).cv1"], ["\(name).m.\(position)"])
            branches.append("\(name).m.\(position)")
        }
        add("\(name).cat", Concat(axis: 1), branches, ["\(name).cat"])
        try assembler.addConv(cv2, name: "\(name).cv2", input: "\(name).cat", output: output, layer: layer)
    }

    /// Older YOLOv5 stem: space-to-depth (four pixel phases stacked on channels), then a Conv.
    private mutating func addFocus(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let conv = module.module("conv") else { throw ModelFormatError.unsupportedModule(type: "Focus without conv", layer: layer) }
        // x[..., ::2, ::2], x[..., 1::2, ::2], x[..., ::2, 1::2], x[..., 1::2, 1::2]
        let phases = [(0, 0), (1, 0), (0, 1), (1, 1)]
        var parts: [String] = []
        for (position, phase) in phases.enumerated() {
            let slice = Slice(starts: [phase.0, phase.1], ends: [Int.max, Int.max], axes: [2, 3], steps: [2, 2])
            add("\(name).slice.\(position)", slice, [input], ["\(name).slice.\(position)"])
            parts.append("\(name).slice.\(position)")
        }
        add("\(name).cat", Concat(axis: 1), parts, ["\(name).cat"])
        try assembler.addConv(conv, name: "\(name).conv", input: "\(name).cat", output: output, layer: layer)
    }

    private mutating func addDetect(_ module: PickleObject, name: String, inputs: [String], output: String,
                                    layer: Int) throws -> YOLOv5Detect {
        guard let classCount = module["nc"]?.int, classCount > 0, let levelConvs = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "Detect without nc/m", layer: layer)
        }
        let convs = levelConvs.modules
        let levelCount = module["nl"]?.int ?? convs.count
        guard convs.count == levelCount, inputs.count == levelCount else {
            throw ModelFormatError.unknownArchitecture("Detect has \(convs.count) convolutions, \(inputs.count) inputs, nl=\(levelCount)")
        }
        guard let strideTensor = module["stride"]?.tensor else {
            throw ModelFormatError.unsupportedModule(type: "Detect without stride", layer: layer)
        }
        let strides = try checkpoint.floats(strideTensor, name: "\(name).stride")
        guard strides.count == levelCount else {
            throw ModelFormatError.shapeMismatch(tensor: "\(name).stride", expected: [levelCount], actual: [strides.count])
        }
        guard strides.allSatisfy({ $0 >= 1 && $0 <= 256 && $0 == $0.rounded() }), classCount <= 100_000 else {
            throw ModelFormatError.unsupportedModule(type: "Detect(strides \(strides), nc \(classCount))", layer: layer)
        }
        guard let anchorTensor = module.tensor("anchors") else {
            throw ModelFormatError.unsupportedModule(type: "Detect without anchors", layer: layer)
        }
        let anchors = try checkpoint.floats(anchorTensor, name: "\(name).anchors")
        let anchorCount = module["na"]?.int ?? (anchors.count / (2 * levelCount))
        guard anchorTensor.shape == [levelCount, anchorCount, 2] else {
            throw ModelFormatError.shapeMismatch(tensor: "\(name).anchors", expected: [levelCount, anchorCount, 2], actual: anchorTensor.shape)
        }
        // Anchors are stored in grid units; PyTorch multiplies by the stride in float32.
        let anchorsInPixels = (0..<levelCount).map { level in
            (0..<anchorCount).map { anchor in
                (width: anchors[(level * anchorCount + anchor) * 2] * strides[level],
                 height: anchors[(level * anchorCount + anchor) * 2 + 1] * strides[level])
            }
        }
        var raw: [String] = []
        for (level, entry) in convs.enumerated() {
            guard let conv2d = entry.object else { throw ModelFormatError.unsupportedModule(type: "Detect.m[\(level)]", layer: layer) }
            let conv = try assembler.convolution(conv2d, batchNorm: nil, name: "\(name).m.\(level)", layer: layer)
            guard conv.outChannels == anchorCount * (classCount + 5) else {
                throw ModelFormatError.shapeMismatch(tensor: "\(name).m.\(level).weight", expected: [anchorCount * (classCount + 5)],
                                                     actual: [conv.outChannels])
            }
            add("\(name).m.\(level)", conv, [inputs[level]], ["\(name).m.\(level)"])
            raw.append("\(name).m.\(level)")
        }
        let detect = YOLOv5Detect(classCount: classCount, strides: strides, anchorsInPixels: anchorsInPixels)
        add(name, detect, raw, [output])
        return detect
    }
}
