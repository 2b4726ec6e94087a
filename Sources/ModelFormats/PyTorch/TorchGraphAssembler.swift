import Engine
import Foundation

/// Engine graph nodes from the `torch.nn` modules of a pickled model, shared by the YOLO families whose
/// checkpoints pickle the whole module tree (YOLOv5's `models.common`, ultralytics' `nn.modules`): the
/// same Conv2d + BatchNorm2d + activation unit, bottlenecks, C3, SPPF, pooling and upsampling, read
/// from the modules' state. BatchNorm is folded into the preceding convolution; activations and
/// residual additions are fused into it. Every number read from the file is checked before use.
struct TorchGraphAssembler {
    let checkpoint: TorchCheckpoint
    private(set) var nodes: [Graph.Node] = []
    private(set) var storageTypes: Set<String> = []
    /// Convolution weights converted on all cores up front (see `WeightPrefetch`).
    private var prefetched = WeightPrefetch()

    init(checkpoint: TorchCheckpoint) {
        self.checkpoint = checkpoint
    }

    /// The nodes the given values depend on, in order (the others dropped).
    func nodes(feeding outputs: [String]) -> [Graph.Node] {
        var needed = Set(outputs)
        var live = [Bool](repeating: false, count: nodes.count)
        for (index, node) in nodes.enumerated().reversed() where node.outputs.contains(where: needed.contains) {
            live[index] = true
            needed.formUnion(node.inputs)
        }
        return nodes.indices.filter { live[$0] }.map { nodes[$0] }
    }

    mutating func add(_ name: String, _ operation: any GraphOperation, _ inputs: [String], _ outputs: [String]) {
        nodes.append(Graph.Node(name: name, operation: operation, inputs: inputs, outputs: outputs))
    }

    /// One layer of a YOLO layer list (`model.model`), with what it reads and the value it writes.
    struct PlannedLayer {
        var index: Int
        var module: PickleObject
        var typeName: String { module.type.name }
        /// `model.<index>`, as PyTorch names the module (and our nodes, so dumps line up with hooks).
        var name: String
        var inputs: [String]
        var output: String
    }

    /// The layers of a YOLO model's layer list, each with the values it reads: its `f` (from) indices,
    /// -1 being the previous layer, resolved to earlier outputs (`inputName` for layer 0's -1). Layers
    /// write `model.<index>`, the last one `outputName`. Only `multipleInputTypes` may read several.
    /// Also starts converting every convolution weight below the layers (see `WeightPrefetch`).
    mutating func planLayers(of model: PickleObject, inputName: String, outputName: String,
                             multipleInputTypes: Set<String> = ["Concat", "Detect"]) throws -> [PlannedLayer] {
        guard let sequential = model.module("model") else {
            throw ModelFormatError.unknownArchitecture("\(model.type) has no 'model' layer list")
        }
        let layers = sequential.modules
        guard !layers.isEmpty else { throw ModelFormatError.unknownArchitecture("empty layer list") }
        prefetched = WeightPrefetch(roots: layers.compactMap(\.object), checkpoint: checkpoint)
        var planned: [PlannedLayer] = []
        for (index, entry) in layers.enumerated() {
            guard let layer = entry.object else { throw ModelFormatError.unsupportedModule(type: "None", layer: index) }
            let inputs = try (layer["f"]?.ints ?? [-1]).map { reference in
                if index == 0, reference == -1 { return inputName }
                let source = reference < 0 ? index + reference : reference
                guard source >= 0, source < index else {
                    throw ModelFormatError.unknownArchitecture("layer \(index) reads layer \(reference)")
                }
                return planned[source].output
            }
            let typeName = layer.type.name
            guard multipleInputTypes.contains(typeName) ? !inputs.isEmpty : inputs.count == 1 else {
                throw ModelFormatError.unknownArchitecture("layer \(index) (\(typeName)) reads \(inputs.count) layers")
            }
            planned.append(PlannedLayer(index: index, module: layer, name: "model.\(index)", inputs: inputs,
                                        output: index == layers.count - 1 ? outputName : "model.\(index)"))
        }
        return planned
    }

    // MARK: - Blocks

    /// A `Conv` whose output PyTorch splits along channels (`cv1(x).chunk(2, 1)` in C2f, C2PSA), built
    /// as one convolution per piece: each output channel is the same dot product either way, and the
    /// pieces need no copy out of a shared tensor.
    mutating func addSplitConv(_ module: PickleObject, name: String, input: String, outputs: [String], sizes: [Int], layer: Int) throws {
        // A Conv unit (Conv2d + BatchNorm + activation), or a plain Conv2d with bias (CBLinear).
        let plain = module.type.name == "Conv2d"
        guard let conv2d = plain ? module : module.module("conv") else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) without conv", layer: layer)
        }
        let activation = plain ? .none : try self.activation(module.module("act"), layer: layer)
        let conv = try convolution(conv2d, batchNorm: plain ? nil : module.module("bn"), name: name, layer: layer).with(activation: activation)
        guard conv.groups == 1, sizes.allSatisfy({ $0 >= 1 }), sizes.reduce(0, +) == conv.outChannels, sizes.count == outputs.count else {
            throw ModelFormatError.shapeMismatch(tensor: "\(name).conv.weight", expected: [sizes.reduce(0, +)], actual: [conv.outChannels])
        }
        let perChannel = conv.weights.count / conv.outChannels
        var start = 0
        for (size, output) in zip(sizes, outputs) {
            let weights = Array(conv.weights.values[(start * perChannel)..<((start + size) * perChannel)])
            var shape = conv.weights.shape
            shape[0] = size
            let piece = Conv(weights: Tensor(shape: shape, values: weights), bias: Array(conv.bias[start..<(start + size)]),
                             strides: conv.strides, pads: conv.pads, dilations: conv.dilations, groups: 1, activation: activation)
            add(output, piece, [input], [output])
            start += size
        }
    }

    /// A `Sequential` of Conv / DWConv units, nested Sequentials and a final plain Conv2d (the branches
    /// of ultralytics' Detect head). Returns the last output's name.
    mutating func addSequential(_ module: PickleObject, name: String, input: String, output: String, layer: Int, depth: Int = 0) throws -> String {
        let children = module.modules
        guard depth < 4, !children.isEmpty else { throw ModelFormatError.unsupportedModule(type: "\(module.type) (empty or too deep)", layer: layer) }
        var current = input
        for (position, entry) in children.enumerated() {
            guard let child = entry.object else { throw ModelFormatError.unsupportedModule(type: "\(name).\(position) (None)", layer: layer) }
            let childName = "\(name).\(position)"
            let childOutput = position == children.count - 1 ? output : childName
            switch child.type.name {
            case "Conv", "DWConv":
                try addConv(child, name: childName, input: current, output: childOutput, layer: layer)
            case "Conv2d":
                add(childName, try convolution(child, batchNorm: nil, name: childName, layer: layer), [current], [childOutput])
            case "Sequential":
                _ = try addSequential(child, name: childName, input: current, output: childOutput, layer: layer, depth: depth + 1)
            default:
                throw ModelFormatError.unsupportedModule(type: "\(child.type) in \(name)", layer: layer)
            }
            current = childOutput
        }
        return current
    }

    /// `Conv` (YOLOv5, ultralytics; `DWConv` too): Conv2d (no bias) + BatchNorm2d + activation, as one
    /// fused convolution; `residual`, when given, is added after the activation.
    mutating func addConv(_ module: PickleObject, name: String, input: String, output: String, layer: Int,
                                  residual: String? = nil) throws {
        let activation = try self.activation(module.module("act"), layer: layer)
        var conv: Conv
        if ["RepConv", "RepConvN"].contains(module.type.name), module.module("conv") == nil {
            conv = try reparameterized(module, name: name, layer: layer)
        } else if module.type.name == "RepVGGDW", let large = module.module("conv"), large.type.name == "Conv" {
            conv = try depthwiseReparameterized(module, large: large, name: name, layer: layer)
        } else {
            guard let conv2d = module.module("conv") else { throw ModelFormatError.unsupportedModule(type: "\(module.type) without conv", layer: layer) }
            conv = try convolution(conv2d, batchNorm: module.module("bn"), name: name, layer: layer)
        }
        conv = conv.with(activation: activation, addsResidual: residual != nil)
        add(name, conv, residual.map { [input, $0] } ?? [input], [output])
    }

    /// YOLOv10's `RepVGGDW`: act(bn(dw7x7(x)) + bn(dw3x3(x))), folded as its `fuse()` does: the 3x3
    /// kernel added at the 7x7 one's centre, the biases summed. (A fused file holds the plain Conv2d.)
    private mutating func depthwiseReparameterized(_ module: PickleObject, large: PickleObject, name: String, layer: Int) throws -> Conv {
        guard let small = module.module("conv1"), let largeConv = large.module("conv"), let smallConv = small.module("conv") else {
            throw ModelFormatError.unsupportedModule(type: "RepVGGDW without conv/conv1", layer: layer)
        }
        let wide = try convolution(largeConv, batchNorm: large.module("bn"), name: "\(name).conv", layer: layer)
        let narrow = try convolution(smallConv, batchNorm: small.module("bn"), name: "\(name).conv1", layer: layer)
        let (kh, kw) = wide.kernel, (sh, sw) = narrow.kernel
        guard wide.weights.shape[0] == narrow.weights.shape[0], wide.weights.shape[1] == narrow.weights.shape[1], wide.groups == narrow.groups,
              wide.strides == narrow.strides, kh >= sh, kw >= sw, (kh - sh) % 2 == 0, (kw - sw) % 2 == 0,
              wide.pads == [kh / 2, kw / 2, kh / 2, kw / 2], narrow.pads == [sh / 2, sw / 2, sh / 2, sw / 2] else {
            throw ModelFormatError.unsupportedModule(type: "RepVGGDW whose branches do not line up", layer: layer)
        }
        var weights = wide.weights.values, bias = wide.bias
        let planes = wide.weights.shape[0] * wide.weights.shape[1]
        let (offsetY, offsetX) = ((kh - sh) / 2, (kw - sw) / 2)
        for plane in 0..<planes {
            for y in 0..<sh {
                for x in 0..<sw { weights[(plane * kh + y + offsetY) * kw + x + offsetX] += narrow.weights.values[(plane * sh + y) * sw + x] }
            }
        }
        for o in 0..<bias.count { bias[o] += narrow.bias[o] }
        return Conv(weights: Tensor(shape: wide.weights.shape, values: weights), bias: bias, strides: wide.strides, pads: wide.pads,
                    dilations: wide.dilations, groups: wide.groups)
    }

    /// `RepConv` (YOLOv9's RepVGG unit): act(bn1(conv3x3(x)) + bn2(conv1x1(x)) [+ bn(x)]), folded into
    /// one 3x3 convolution as the reference's `fuse()` does: the 1x1 kernel (and the identity, scaled
    /// by its BatchNorm) added at the kernel's centre, the biases summed.
    private mutating func reparameterized(_ module: PickleObject, name: String, layer: Int) throws -> Conv {
        guard let branch3 = module.module("conv1"), let branch1 = module.module("conv2"),
              let conv3 = branch3.module("conv"), let conv1 = branch1.module("conv") else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) without conv1/conv2", layer: layer)
        }
        let wide = try convolution(conv3, batchNorm: branch3.module("bn"), name: "\(name).conv1", layer: layer)
        let narrow = try convolution(conv1, batchNorm: branch1.module("bn"), name: "\(name).conv2", layer: layer)
        let (kh, kw) = wide.kernel
        guard narrow.kernel == (1, 1), kh % 2 == 1, kw % 2 == 1, wide.outChannels == narrow.outChannels,
              wide.weights.shape[1] == narrow.weights.shape[1], wide.groups == narrow.groups, wide.strides == narrow.strides,
              wide.pads == [kh / 2, kw / 2, kh / 2, kw / 2], narrow.pads == [0, 0, 0, 0] else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) whose branches do not line up (\(wide.weights.shape) vs \(narrow.weights.shape))",
                                                     layer: layer)
        }
        var weights = wide.weights.values, bias = wide.bias
        let perGroupIn = wide.weights.shape[1], centre = (kh / 2) * kw + kw / 2
        for o in 0..<wide.outChannels {
            for i in 0..<perGroupIn { weights[(o * perGroupIn + i) * kh * kw + centre] += narrow.weights.values[o * perGroupIn + i] }
            bias[o] += narrow.bias[o]
        }
        if let identity = module.module("bn") {
            // The identity branch: a BatchNorm of x itself (only when in == out channels).
            // The identity as a 1x1 kernel, scaled in place by the fold.
            var identityWeights: [Float] = (0..<(wide.outChannels * perGroupIn)).map { index in
                index / perGroupIn % perGroupIn == index % perGroupIn ? 1 : 0
            }
            let foldedBias = try foldBatchNorm(&identityWeights, bias: nil, outChannels: wide.outChannels, batchNorm: identity, name: "\(name).bn", layer: layer)
            for o in 0..<wide.outChannels {
                for i in 0..<perGroupIn { weights[(o * perGroupIn + i) * kh * kw + centre] += identityWeights[o * perGroupIn + i] }
                bias[o] += foldedBias[o]
            }
        }
        return Conv(weights: Tensor(shape: wide.weights.shape, values: weights), bias: bias, strides: wide.strides, pads: wide.pads,
                    dilations: wide.dilations, groups: wide.groups)
    }

    /// `Bottleneck`: cv2(cv1(x)), plus x when its `add` flag is set.
    mutating func addBottleneck(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard ["Bottleneck", "RepBottleneck", "RepNBottleneck"].contains(module.type.name), let cv1 = module.module("cv1"), let cv2 = module.module("cv2") else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) (expected Bottleneck with cv1/cv2)", layer: layer)
        }
        try addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        let shortcut = module["add"]?.bool ?? false
        try addConv(cv2, name: "\(name).cv2", input: "\(name).cv1", output: output, layer: layer, residual: shortcut ? input : nil)
    }

    /// `C3` (YOLOv5; ultralytics `C3k`): cv3(cat(m(cv1(x)), cv2(x))).
    mutating func addC3(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let cv3 = module.module("cv3"),
              let bottlenecks = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "C3 without cv1/cv2/cv3/m", layer: layer)
        }
        try addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        var current = "\(name).cv1"
        for (position, entry) in bottlenecks.modules.enumerated() {
            guard let bottleneck = entry.object else { throw ModelFormatError.unsupportedModule(type: "C3.m[\(position)]", layer: layer) }
            let prefix = "\(name).m.\(position)"
            try addBottleneck(bottleneck, name: prefix, input: current, output: prefix, layer: layer)
            current = prefix
        }
        try addConv(cv2, name: "\(name).cv2", input: input, output: "\(name).cv2", layer: layer)
        add("\(name).cat", Concat(axis: 1), [current, "\(name).cv2"], ["\(name).cat"])
        try addConv(cv3, name: "\(name).cv3", input: "\(name).cat", output: output, layer: layer)
    }

    /// `SPPF`: cv2(cat(y, m(y), m(m(y)), ...)) with y = cv1(x), `n` poolings (3 unless the module says),
    /// plus x when ultralytics' `add` flag is set.
    mutating func addSPPF(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let pool = module.module("m") else {
            throw ModelFormatError.unsupportedModule(type: "SPPF without cv1/cv2/m", layer: layer)
        }
        let maxPool = try self.maxPool(pool, layer: layer)
        try addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        let count = module["n"]?.int ?? 3
        guard (1...8).contains(count) else { throw ModelFormatError.unsupportedModule(type: "SPPF(n=\(count))", layer: layer) }
        var pooled = ["\(name).cv1"]
        for step in 1...count {
            add("\(name).m.\(step)", maxPool, [pooled.last!], ["\(name).m.\(step)"])
            pooled.append("\(name).m.\(step)")
        }
        add("\(name).cat", Concat(axis: 1), pooled, ["\(name).cat"])
        let shortcut = module["add"]?.bool ?? false
        try addConv(cv2, name: "\(name).cv2", input: "\(name).cat", output: output, layer: layer, residual: shortcut ? input : nil)
    }

    // MARK: - torch.nn modules

    /// A Conv2d, with a following BatchNorm2d folded in: w' = w * g / sqrt(v + eps), b' = beta + (b - m) * g / sqrt(v + eps).
    mutating func convolution(_ conv2d: PickleObject, batchNorm: PickleObject?, name: String, layer: Int) throws -> Conv {
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
            bias = try foldBatchNorm(&weights, bias: bias, outChannels: outChannels, batchNorm: batchNorm, name: name, layer: layer)
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

    /// Folds a BatchNorm2d into the convolution before it:
    /// w' = w * g / sqrt(v + eps), b' = beta + (b - m) * g / sqrt(v + eps) (in double, then float).
    /// The weights are scaled in place (MDv5a's are 560 MB: a copy costs its page faults) and the
    /// folded bias is returned.
    private func foldBatchNorm(_ weights: inout [Float], bias: [Float]?, outChannels: Int, batchNorm: PickleObject, name: String,
                               layer: Int) throws -> [Float] {
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
        return folded
    }

    func activation(_ module: PickleObject?, layer: Int) throws -> Activation {
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

    func maxPool(_ module: PickleObject, layer: Int) throws -> MaxPool {
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

    func upsample(_ module: PickleObject, layer: Int) throws -> Resize {
        guard module["mode"]?.string == "nearest", let factor = module["scale_factor"]?.double ?? module["scale_factor"]?.items?.first?.double,
              factor >= 1, factor <= 16, factor == factor.rounded() else {
            throw ModelFormatError.unsupportedModule(type: "Upsample (only nearest by a whole factor is supported)", layer: layer)
        }
        return Resize(scale: (Int(factor), Int(factor)))
    }
}
