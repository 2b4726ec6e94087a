import Engine
import Foundation

/// Builds an engine graph from the module tree of a pickled YOLOv5 `DetectionModel` (MDv5a/b,
/// YOLOv5x6, YOLOv5s, ...). Each layer of `model.model` names its inputs in `f` (-1 = previous layer);
/// its output value is named `model.<index>`, so a dump lines up with PyTorch forward hooks.
/// BatchNorm is folded into the preceding convolution; SiLU and residual additions are fused into it.
struct YOLOv5GraphBuilder {
    let checkpoint: TorchCheckpoint
    private(set) var nodes: [Graph.Node] = []
    private(set) var storageTypes: Set<String> = []
    /// Convolution weights converted on all cores up front (see `WeightPrefetch`).
    private var prefetched = WeightPrefetch()

    static let inputName = "images"
    static let outputName = "output"

    init(checkpoint: TorchCheckpoint) {
        self.checkpoint = checkpoint
    }

    struct Result {
        var graph: Graph
        var detect: YOLOv5Detect
        var layerTypes: [String]
        var storageTypes: Set<String>
    }

    mutating func build(model: PickleObject) throws -> Result {
        guard let sequential = model.module("model") else {
            throw ModelFormatError.unknownArchitecture("\(model.type) has no 'model' layer list")
        }
        let layers = sequential.modules
        guard !layers.isEmpty else { throw ModelFormatError.unknownArchitecture("empty layer list") }
        prefetched = WeightPrefetch(roots: layers.compactMap(\.object), checkpoint: checkpoint)
        var layerOutputs: [String] = []
        var layerTypes: [String] = []
        var detect: YOLOv5Detect?
        for (index, entry) in layers.enumerated() {
            guard let layer = entry.object else { throw ModelFormatError.unsupportedModule(type: "None", layer: index) }
            let inputs = try resolveInputs(layer: layer, index: index, outputs: layerOutputs)
            let output = index == layers.count - 1 ? Self.outputName : "model.\(index)"
            let typeName = layer.type.name
            let multipleInputs: Set<String> = ["Concat", "Detect"]
            guard multipleInputs.contains(typeName) ? !inputs.isEmpty : inputs.count == 1 else {
                throw ModelFormatError.unknownArchitecture("layer \(index) (\(typeName)) reads \(inputs.count) layers")
            }
            layerTypes.append(typeName)
            switch typeName {
            case "Conv", "DWConv":
                try addConv(layer, name: "model.\(index)", input: inputs[0], output: output, layer: index)
            case "C3":
                try addC3(layer, name: "model.\(index)", input: inputs[0], output: output, layer: index)
            case "SPPF":
                try addSPPF(layer, name: "model.\(index)", input: inputs[0], output: output, layer: index)
            case "SPP":
                try addSPP(layer, name: "model.\(index)", input: inputs[0], output: output, layer: index)
            case "Focus":
                try addFocus(layer, name: "model.\(index)", input: inputs[0], output: output, layer: index)
            case "Concat":
                let dimension = layer["d"]?.int ?? 1
                guard dimension == 1 else { throw ModelFormatError.unsupportedModule(type: "Concat(d=\(dimension))", layer: index) }
                add("model.\(index)", Concat(axis: 1), inputs, [output])
            case "Upsample":
                add("model.\(index)", try upsample(layer, layer: index), [inputs[0]], [output])
            case "MaxPool2d":
                add("model.\(index)", try maxPool(layer, layer: index), [inputs[0]], [output])
            case "Detect":
                guard index == layers.count - 1 else {
                    throw ModelFormatError.unknownArchitecture("Detect must be the last layer (found at \(index))")
                }
                detect = try addDetect(layer, name: "model.\(index)", inputs: inputs, output: output, layer: index)
            default:
                throw ModelFormatError.unsupportedModule(type: layer.type.description, layer: index)
            }
            layerOutputs.append(output)
        }
        guard let detect else { throw ModelFormatError.unknownArchitecture("the last layer is not a YOLOv5 Detect head") }
        let graph = try Graph(inputs: [Graph.Input(name: Self.inputName, shape: [1, 3, -1, -1])],
                              outputs: [Self.outputName], nodes: nodes)
        return Result(graph: graph, detect: detect, layerTypes: layerTypes, storageTypes: storageTypes)
    }

    private func resolveInputs(layer: PickleObject, index: Int, outputs: [String]) throws -> [String] {
        let from = layer["f"]?.ints ?? [-1]
        return try from.map { reference in
            let source = reference < 0 ? index + reference : reference
            if index == 0, reference == -1 { return Self.inputName }
            guard source >= 0, source < index else {
                throw ModelFormatError.unknownArchitecture("layer \(index) reads layer \(reference)")
            }
            return outputs[source]
        }
    }

    private mutating func add(_ name: String, _ operation: any GraphOperation, _ inputs: [String], _ outputs: [String]) {
        nodes.append(Graph.Node(name: name, operation: operation, inputs: inputs, outputs: outputs))
    }

    // MARK: - Blocks

    /// YOLOv5 `Conv`: Conv2d (no bias) + BatchNorm2d + activation, as one fused convolution.
    private mutating func addConv(_ module: PickleObject, name: String, input: String, output: String, layer: Int,
                                  residual: String? = nil) throws {
        guard let conv2d = module.module("conv") else { throw ModelFormatError.unsupportedModule(type: "\(module.type) without conv", layer: layer) }
        let activation = try self.activation(module.module("act"), layer: layer)
        var conv = try convolution(conv2d, batchNorm: module.module("bn"), name: name, layer: layer)
        conv = conv.with(activation: activation, addsResidual: residual != nil)
        add(name, conv, residual.map { [input, $0] } ?? [input], [output])
    }

    private mutating func addC3(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let cv3 = module.module("cv3"),
              let bottlenecks = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "C3 without cv1/cv2/cv3/m", layer: layer)
        }
        try addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        var current = "\(name).cv1"
        for (position, entry) in bottlenecks.modules.enumerated() {
            guard let bottleneck = entry.object, bottleneck.type.name == "Bottleneck",
                  let b1 = bottleneck.module("cv1"), let b2 = bottleneck.module("cv2") else {
                throw ModelFormatError.unsupportedModule(type: "C3.m[\(position)]", layer: layer)
            }
            let prefix = "\(name).m.\(position)"
            try addConv(b1, name: "\(prefix).cv1", input: current, output: "\(prefix).cv1", layer: layer)
            let shortcut = bottleneck["add"]?.bool ?? false
            try addConv(b2, name: "\(prefix).cv2", input: "\(prefix).cv1", output: prefix, layer: layer,
                        residual: shortcut ? current : nil)
            current = prefix
        }
        try addConv(cv2, name: "\(name).cv2", input: input, output: "\(name).cv2", layer: layer)
        add("\(name).cat", Concat(axis: 1), [current, "\(name).cv2"], ["\(name).cat"])
        try addConv(cv3, name: "\(name).cv3", input: "\(name).cat", output: output, layer: layer)
    }

    private mutating func addSPPF(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let pool = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "SPPF without cv1/cv2/m", layer: layer)
        }
        let maxPool = try self.maxPool(pool, layer: layer)
        try addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        var pooled = ["\(name).cv1"]
        for step in 1...3 {
            add("\(name).m.\(step)", maxPool, [pooled.last!], ["\(name).m.\(step)"])
            pooled.append("\(name).m.\(step)")
        }
        add("\(name).cat", Concat(axis: 1), pooled, ["\(name).cat"])
        try addConv(cv2, name: "\(name).cv2", input: "\(name).cat", output: output, layer: layer)
    }

    private mutating func addSPP(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let pools = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "SPP without cv1/cv2/m", layer: layer)
        }
        try addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        var branches = ["\(name).cv1"]
        for (position, entry) in pools.modules.enumerated() {
            guard let pool = entry.object else { throw ModelFormatError.unsupportedModule(type: "SPP.m[\(position)]", layer: layer) }
            add("\(name).m.\(position)", try maxPool(pool, layer: layer), ["\(name).cv1"], ["\(name).m.\(position)"])
            branches.append("\(name).m.\(position)")
        }
        add("\(name).cat", Concat(axis: 1), branches, ["\(name).cat"])
        try addConv(cv2, name: "\(name).cv2", input: "\(name).cat", output: output, layer: layer)
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
        try addConv(conv, name: "\(name).conv", input: "\(name).cat", output: output, layer: layer)
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
            let conv = try convolution(conv2d, batchNorm: nil, name: "\(name).m.\(level)", layer: layer)
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

    // MARK: - torch.nn modules

    /// A Conv2d, with a following BatchNorm2d folded in: w' = w * g / sqrt(v + eps), b' = beta + (b - m) * g / sqrt(v + eps).
    private mutating func convolution(_ conv2d: PickleObject, batchNorm: PickleObject?, name: String, layer: Int) throws -> Conv {
        guard conv2d.type.name == "Conv2d", let weightRef = conv2d.tensor("weight") else {
            throw ModelFormatError.unsupportedModule(type: "\(conv2d.type) (expected Conv2d)", layer: layer)
        }
        storageTypes.insert(weightRef.storage.type.rawValue)
        guard weightRef.shape.count == 4 else {
            throw ModelFormatError.shapeMismatch(tensor: "\(name).weight", expected: [-1, -1, -1, -1], actual: weightRef.shape)
        }
        let groups = conv2d["groups"]?.int ?? 1
        let outChannels = weightRef.shape[0]
        if let declaredOut = conv2d["out_channels"]?.int, let declaredIn = conv2d["in_channels"]?.int,
           declaredOut != outChannels || declaredIn != weightRef.shape[1] * groups {
            throw ModelFormatError.shapeMismatch(tensor: "\(name).weight", expected: [declaredOut, declaredIn / max(groups, 1)],
                                                 actual: weightRef.shape)
        }
        var weights = try prefetched.take(weightRef) ?? checkpoint.floats(weightRef, name: "\(name).weight")
        var bias = try conv2d.tensor("bias").map { try checkpoint.floats($0, name: "\(name).bias") }
        if let bias, bias.count != outChannels {
            throw ModelFormatError.shapeMismatch(tensor: "\(name).bias", expected: [outChannels], actual: [bias.count])
        }
        if let batchNorm {
            guard batchNorm.type.name == "BatchNorm2d",
                  let gamma = batchNorm.tensor("weight"), let beta = batchNorm.tensor("bias"),
                  let mean = batchNorm.tensor("running_mean"), let variance = batchNorm.tensor("running_var") else {
                throw ModelFormatError.unsupportedModule(type: "\(batchNorm.type) (expected BatchNorm2d with statistics)", layer: layer)
            }
            let eps = batchNorm["eps"]?.double ?? 1e-5
            let g = try checkpoint.floats(gamma, name: "\(name).bn.weight"), b = try checkpoint.floats(beta, name: "\(name).bn.bias")
            let m = try checkpoint.floats(mean, name: "\(name).bn.running_mean")
            let v = try checkpoint.floats(variance, name: "\(name).bn.running_var")
            guard [g.count, b.count, m.count, v.count].allSatisfy({ $0 == outChannels }) else {
                throw ModelFormatError.shapeMismatch(tensor: "\(name).bn", expected: [outChannels], actual: [g.count, b.count, m.count, v.count])
            }
            let perChannel = weights.count / outChannels
            var folded = [Float](repeating: 0, count: outChannels)
            for o in 0..<outChannels {
                let scale = Double(g[o]) / (Double(v[o]) + eps).squareRoot()
                for k in 0..<perChannel { weights[o * perChannel + k] = Float(Double(weights[o * perChannel + k]) * scale) }
                folded[o] = Float(Double(b[o]) + (Double(bias?[o] ?? 0) - Double(m[o])) * scale)
            }
            bias = folded
        }
        let stride = conv2d["stride"]?.ints ?? [1, 1]
        let dilation = conv2d["dilation"]?.ints ?? [1, 1]
        guard let padding = conv2d["padding"]?.ints, padding.count >= 1, stride.count >= 1, dilation.count >= 1 else {
            throw ModelFormatError.unsupportedModule(type: "Conv2d with padding '\(conv2d["padding"]?.string ?? "?")'", layer: layer)
        }
        // The file is input: every number that divides or sizes something is checked before use.
        guard groups >= 1, outChannels % groups == 0, weightRef.shape.allSatisfy({ $0 >= 1 }), stride.allSatisfy({ (1...64).contains($0) }),
              dilation.allSatisfy({ (1...64).contains($0) }), padding.allSatisfy({ (0...64).contains($0) }) else {
            throw ModelFormatError.unsupportedModule(type: "Conv2d(groups \(groups), stride \(stride), dilation \(dilation), padding \(padding), weight \(weightRef.shape))",
                                                     layer: layer)
        }
        if let mode = conv2d["padding_mode"]?.string, mode != "zeros" {
            throw ModelFormatError.unsupportedModule(type: "Conv2d(padding_mode=\(mode))", layer: layer)
        }
        let (padH, padW) = (padding[0], padding.count > 1 ? padding[1] : padding[0])
        return Conv(weights: Tensor(shape: weightRef.shape, values: weights), bias: bias,
                    strides: (stride[0], stride.count > 1 ? stride[1] : stride[0]),
                    pads: [padH, padW, padH, padW],
                    dilations: (dilation[0], dilation.count > 1 ? dilation[1] : dilation[0]), groups: groups)
    }

    private func activation(_ module: PickleObject?, layer: Int) throws -> Activation {
        guard let module else { return .none }
        switch module.type.name {
        case "SiLU": return .silu
        case "Identity": return .none
        case "ReLU": return .relu
        case "LeakyReLU": return .leakyRelu(alpha: Float(module["negative_slope"]?.double ?? 0.01))
        case "Hardswish": return .hardswish
        case "Sigmoid": return .sigmoid
        default: throw ModelFormatError.unsupportedModule(type: "activation \(module.type)", layer: layer)
        }
    }

    private func maxPool(_ module: PickleObject, layer: Int) throws -> MaxPool {
        guard module.type.name == "MaxPool2d", let kernel = module["kernel_size"]?.ints else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) (expected MaxPool2d)", layer: layer)
        }
        let stride = module["stride"]?.ints ?? kernel
        let padding = module["padding"]?.ints ?? [0]
        guard !kernel.isEmpty, !stride.isEmpty, !padding.isEmpty, kernel.allSatisfy({ (1...64).contains($0) }),
              stride.allSatisfy({ (1...64).contains($0) }), padding.allSatisfy({ (0...32).contains($0) }) else {
            throw ModelFormatError.unsupportedModule(type: "MaxPool2d(kernel \(kernel), stride \(stride), padding \(padding))", layer: layer)
        }
        if module["ceil_mode"]?.bool == true || (module["dilation"]?.ints ?? [1]).contains(where: { $0 != 1 }) {
            throw ModelFormatError.unsupportedModule(type: "MaxPool2d with ceil_mode or dilation", layer: layer)
        }
        let (kh, kw) = (kernel[0], kernel.count > 1 ? kernel[1] : kernel[0])
        let (sh, sw) = (stride[0], stride.count > 1 ? stride[1] : stride[0])
        let (ph, pw) = (padding[0], padding.count > 1 ? padding[1] : padding[0])
        return MaxPool(kernel: (kh, kw), strides: (sh, sw), pads: [ph, pw, ph, pw])
    }

    private func upsample(_ module: PickleObject, layer: Int) throws -> Resize {
        guard module["mode"]?.string == "nearest", let factor = module["scale_factor"]?.double ?? module["scale_factor"]?.items?.first?.double,
              factor >= 1, factor <= 16, factor == factor.rounded() else {
            throw ModelFormatError.unsupportedModule(type: "Upsample (only nearest by a whole factor is supported)", layer: layer)
        }
        return Resize(scale: (Int(factor), Int(factor)))
    }
}
