import Engine
import Foundation

/// Builds an engine graph from the module tree of a pickled anchor-free YOLO `DetectionModel`:
/// ultralytics' YOLOv8, YOLO11 (MDv1000-larch and -sorrel), YOLOv9 and YOLOv10 (MDv6), and the yolov9
/// repository's YOLOv9 (MDv1000-cedar), whose blocks are the same under other names. The layer list
/// works as YOLOv5's (`f` names the inputs); the blocks are C2f / C3k2 (with Bottleneck or C3k inside),
/// C2PSA / PSA attention, SPPF, the ELAN / ADown / SPPELAN family with RepConv units, SCDown and CIB,
/// CBLinear / CBFuse, and the anchor-free Detect head whose decode (DFL, distances to boxes, sigmoid)
/// runs in `AnchorFreeDetect`. Layer outputs are named `model.<index>`, as PyTorch's module names.
struct UltralyticsGraphBuilder {
    private var assembler: TorchGraphAssembler
    private var checkpoint: TorchCheckpoint { assembler.checkpoint }

    static let inputName = "images"
    static let outputName = "output"

    init(checkpoint: TorchCheckpoint) {
        assembler = TorchGraphAssembler(checkpoint: checkpoint)
    }

    struct Result {
        var graph: Graph
        var detect: AnchorFreeDetect
        var layerTypes: [String]
        var storageTypes: Set<String>
    }

    mutating func build(model: PickleObject) throws -> Result {
        let layers = try assembler.planLayers(of: model, inputName: Self.inputName, outputName: Self.outputName,
                                              multipleInputTypes: ["Concat", "Detect", "DDetect", "DualDDetect", "v10Detect", "CBFuse"])
        var detect: AnchorFreeDetect?
        for layer in layers {
            let (index, name, inputs, output) = (layer.index, layer.name, layer.inputs, layer.output)
            switch layer.typeName {
            case "Conv", "DWConv":
                try assembler.addConv(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "C2f", "C3k2":
                try addC2f(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "C3", "C3k":
                try assembler.addC3(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "SPPF":
                try assembler.addSPPF(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "C2PSA":
                try addC2PSA(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "RepNCSPELAN4", "ELAN1":
                try addELAN(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "ADown":
                try addADown(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "AConv":
                guard let cv1 = layer.module.module("cv1") else { throw ModelFormatError.unsupportedModule(type: "AConv without cv1", layer: index) }
                assembler.add("\(name).pool", Self.smoothing, [inputs[0]], ["\(name).pool"])
                try assembler.addConv(cv1, name: "\(name).cv1", input: "\(name).pool", output: output, layer: index)
            case "SPPELAN":
                try addSPPELAN(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "Silence", "Identity":  // the yolov9 repository's and ultralytics' pass-through first layer
                assembler.add(name, Unary(.activation(.none)), [inputs[0]], [output])
            case "CBLinear":
                try addCBLinear(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "CBFuse":
                try addCBFuse(layer.module, name: name, inputs: inputs, output: output, layer: index)
            case "Concat":
                let dimension = layer.module["d"]?.int ?? 1
                guard dimension == 1 else { throw ModelFormatError.unsupportedModule(type: "Concat(d=\(dimension))", layer: index) }
                assembler.add(name, Concat(axis: 1), inputs, [output])
            case "Upsample":
                assembler.add(name, try assembler.upsample(layer.module, layer: index), [inputs[0]], [output])
            case "SCDown":
                guard let cv1 = layer.module.module("cv1"), let cv2 = layer.module.module("cv2") else {
                    throw ModelFormatError.unsupportedModule(type: "SCDown without cv1/cv2", layer: index)
                }
                try assembler.addConv(cv1, name: "\(name).cv1", input: inputs[0], output: "\(name).cv1", layer: index)
                try assembler.addConv(cv2, name: "\(name).cv2", input: "\(name).cv1", output: output, layer: index)
            case "PSA":
                try addC2PSA(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "C2fCIB":
                try addC2f(layer.module, name: name, input: inputs[0], output: output, layer: index)
            case "Detect", "DDetect", "DualDDetect", "v10Detect":
                guard output == Self.outputName else {
                    throw ModelFormatError.unknownArchitecture("Detect must be the last layer (found at \(index))")
                }
                detect = try addDetect(layer.module, name: name, inputs: inputs, output: output, layer: index)
            default:
                throw ModelFormatError.unsupportedModule(type: layer.module.type.description, layer: index)
            }
        }
        guard let detect else { throw ModelFormatError.unknownArchitecture("the last layer is not an ultralytics Detect head") }
        // A DualDDetect reads one of its two branches: the other's layers would compute for nothing.
        let graph = try Graph(inputs: [Graph.Input(name: Self.inputName, shape: [1, 3, -1, -1])],
                              outputs: [Self.outputName], nodes: assembler.nodes(feeding: [Self.outputName]))
        return Result(graph: graph, detect: detect, layerTypes: layers.map(\.typeName), storageTypes: assembler.storageTypes)
    }

    // MARK: - Blocks

    /// C2f / C3k2: y = cv1(x) split in two halves; each block of `m` reads the last piece; cv2 reads
    /// them all concatenated.
    private mutating func addC2f(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let blocks = module.module("m"),
              let half = module["c"]?.int, half >= 1 else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) without cv1/cv2/m/c", layer: layer)
        }
        var pieces = ["\(name).cv1.a", "\(name).cv1.b"]
        try assembler.addSplitConv(cv1, name: "\(name).cv1", input: input, outputs: pieces, sizes: [half, half], layer: layer)
        for (position, entry) in blocks.modules.enumerated() {
            guard let block = entry.object else { throw ModelFormatError.unsupportedModule(type: "\(module.type).m[\(position)]", layer: layer) }
            let blockName = "\(name).m.\(position)"
            try addInnerBlock(block, name: blockName, input: pieces.last!, output: blockName, layer: layer)
            pieces.append(blockName)
        }
        assembler.add("\(name).cat", Concat(axis: 1), pieces, ["\(name).cat"])
        try assembler.addConv(cv2, name: "\(name).cv2", input: "\(name).cat", output: output, layer: layer)
    }

    /// `avg_pool2d(x, 2, 1, 0, False, True)` of YOLOv9's ADown and AConv: a 2x2 mean, stride 1.
    static let smoothing = AveragePool(kernel: (2, 2), strides: (1, 1), pads: [0, 0, 0, 0])

    /// RepNCSPELAN4 / ELAN1 (YOLOv9): y = cv1(x) split in two halves; cv2 reads the second, cv3 reads
    /// cv2's output; cv4 reads all four concatenated.
    private mutating func addELAN(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let cv3 = module.module("cv3"),
              let cv4 = module.module("cv4"), let half = module["c"]?.int, half >= 1 else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) without cv1-cv4/c", layer: layer)
        }
        var pieces = ["\(name).cv1.a", "\(name).cv1.b"]
        try assembler.addSplitConv(cv1, name: "\(name).cv1", input: input, outputs: pieces, sizes: [half, half], layer: layer)
        for (branch, branchName) in [(cv2, "\(name).cv2"), (cv3, "\(name).cv3")] {
            try addInnerBlock(branch, name: branchName, input: pieces.last!, output: branchName, layer: layer)
            pieces.append(branchName)
        }
        assembler.add("\(name).cat", Concat(axis: 1), pieces, ["\(name).cat"])
        try assembler.addConv(cv4, name: "\(name).cv4", input: "\(name).cat", output: output, layer: layer)
    }

    /// ADown (YOLOv9): x = 2x2 mean (stride 1), split in two halves; cv1 (3x3, stride 2) on the first,
    /// 3x3 max pool (stride 2, pad 1) then cv2 on the second; concatenated.
    private mutating func addADown(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2") else {
            throw ModelFormatError.unsupportedModule(type: "ADown without cv1/cv2", layer: layer)
        }
        guard let weight = cv1.module("conv")?.tensor("weight"), weight.shape.count == 4, weight.shape[1] >= 1, weight.shape[1] <= 1 << 16 else {
            throw ModelFormatError.unsupportedModule(type: "ADown whose cv1 has no 4-d convolution weight", layer: layer)
        }
        let halves = ["\(name).pool.a", "\(name).pool.b"]
        assembler.add("\(name).pool", Self.smoothing, [input], ["\(name).pool"])
        assembler.add("\(name).split", Split(axis: 1, sizes: [weight.shape[1], weight.shape[1]]), ["\(name).pool"], halves)
        try assembler.addConv(cv1, name: "\(name).cv1", input: halves[0], output: "\(name).cv1", layer: layer)
        assembler.add("\(name).max", MaxPool(kernel: (3, 3), strides: (2, 2), pads: [1, 1, 1, 1]), [halves[1]], ["\(name).max"])
        try assembler.addConv(cv2, name: "\(name).cv2", input: "\(name).max", output: "\(name).cv2", layer: layer)
        assembler.add("\(name).cat", Concat(axis: 1), ["\(name).cv1", "\(name).cv2"], [output])
    }

    /// SPPELAN (YOLOv9): cv5(cat(y, p(y), p(p(y)), p(p(p(y))))) with y = cv1(x), p the max pools cv2-cv4.
    private mutating func addSPPELAN(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv5 = module.module("cv5") else {
            throw ModelFormatError.unsupportedModule(type: "SPPELAN without cv1/cv5", layer: layer)
        }
        try assembler.addConv(cv1, name: "\(name).cv1", input: input, output: "\(name).cv1", layer: layer)
        var pooled = ["\(name).cv1"]
        for pool in ["cv2", "cv3", "cv4"] {
            // ultralytics stores MaxPool2d modules; the yolov9 repository wraps each in an `SP`.
            guard let wrapper = module.module(pool), let module = wrapper.type.name == "SP" ? wrapper.module("m") : wrapper else {
                throw ModelFormatError.unsupportedModule(type: "SPPELAN without \(pool)", layer: layer)
            }
            assembler.add("\(name).\(pool)", try assembler.maxPool(module, layer: layer), [pooled.last!], ["\(name).\(pool)"])
            pooled.append("\(name).\(pool)")
        }
        assembler.add("\(name).cat", Concat(axis: 1), pooled, ["\(name).cat"])
        try assembler.addConv(cv5, name: "\(name).cv5", input: "\(name).cat", output: output, layer: layer)
    }

    /// CBLinear (YOLOv9's reversible branch): one convolution with bias whose output is split into the
    /// pieces `c2s`, written as `<output>.0`, `<output>.1`, ... for the CBFuse layers that pick them.
    private mutating func addCBLinear(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let conv = module.module("conv"), let sizes = module["c2s"]?.ints, !sizes.isEmpty, sizes.count <= 16 else {
            throw ModelFormatError.unsupportedModule(type: "CBLinear without conv/c2s", layer: layer)
        }
        try assembler.addSplitConv(conv, name: name, input: input, outputs: sizes.indices.map { "\(output).\($0)" }, sizes: sizes,
                                   layer: layer)
    }

    /// CBFuse: the sum of the picked CBLinear pieces, each resized (nearest) to the last input's size,
    /// and the last input, in that order.
    private mutating func addCBFuse(_ module: PickleObject, name: String, inputs: [String], output: String, layer: Int) throws {
        guard let picks = module["idx"]?.ints, picks.count == inputs.count - 1, picks.allSatisfy({ (0..<16).contains($0) }) else {
            throw ModelFormatError.unsupportedModule(type: "CBFuse whose idx does not match its \(inputs.count) inputs", layer: layer)
        }
        guard let target = inputs.last else { throw ModelFormatError.unsupportedModule(type: "CBFuse without inputs", layer: layer) }
        var terms: [String] = []
        for (position, (source, pick)) in zip(inputs.dropLast(), picks).enumerated() {
            let resized = "\(name).resize.\(position)"
            assembler.add(resized, NearestResizeLike(), ["\(source).\(pick)", target], [resized])
            terms.append(resized)
        }
        terms.append(target)
        var sum = terms[0]
        for (position, term) in terms.dropFirst().enumerated() {
            let partial = position == terms.count - 2 ? output : "\(name).sum.\(position)"
            assembler.add(partial, Elementwise(.add), [sum, term], [partial])
            sum = partial
        }
    }

    /// What C3k2 may hold per repeat (a Bottleneck, a C3k, or a Sequential of them and PSABlocks), and
    /// the branches of YOLOv9's ELAN blocks (a Sequential of a RepCSP and a Conv, or a Conv).
    private mutating func addInnerBlock(_ block: PickleObject, name: String, input: String, output: String, layer: Int,
                                        depth: Int = 0) throws {
        switch block.type.name {
        case "Bottleneck":
            try assembler.addBottleneck(block, name: name, input: input, output: output, layer: layer)
        case "C3k", "C3", "RepCSP", "RepNCSP":
            try assembler.addC3(block, name: name, input: input, output: output, layer: layer)
        case "Conv", "RepConv":
            try assembler.addConv(block, name: name, input: input, output: output, layer: layer)
        case "PSABlock":
            try addPSABlock(block, name: name, input: input, output: output, layer: layer)
        case "CIB":
            // YOLOv10: a chain of depthwise / pointwise convolutions (one may be a RepVGGDW), plus x
            // when `add` is set, fused into the last convolution.
            guard let chain = block.module("cv1"), !chain.modules.isEmpty else {
                throw ModelFormatError.unsupportedModule(type: "CIB without cv1", layer: layer)
            }
            let shortcut = block["add"]?.bool ?? false
            var current = input
            for (position, entry) in chain.modules.enumerated() {
                guard let unit = entry.object, ["Conv", "RepVGGDW"].contains(unit.type.name) else {
                    throw ModelFormatError.unsupportedModule(type: "\(name).cv1.\(position)", layer: layer)
                }
                let last = position == chain.modules.count - 1
                let unitOutput = last ? output : "\(name).cv1.\(position)"
                try assembler.addConv(unit, name: "\(name).cv1.\(position)", input: current, output: unitOutput, layer: layer,
                                      residual: last && shortcut ? input : nil)
                current = unitOutput
            }
        case "Sequential" where depth < 2:
            let children = block.modules
            guard !children.isEmpty else { throw ModelFormatError.unsupportedModule(type: "empty Sequential in \(name)", layer: layer) }
            var current = input
            for (position, entry) in children.enumerated() {
                guard let child = entry.object else { throw ModelFormatError.unsupportedModule(type: "\(name).\(position) (None)", layer: layer) }
                let childOutput = position == children.count - 1 ? output : "\(name).\(position)"
                try addInnerBlock(child, name: "\(name).\(position)", input: current, output: childOutput, layer: layer, depth: depth + 1)
                current = childOutput
            }
        default:
            throw ModelFormatError.unsupportedModule(type: "\(block.type) in \(name)", layer: layer)
        }
    }

    /// C2PSA: a, b = cv1(x) split; b through the PSABlocks of `m`; cv2(cat(a, b)).
    private mutating func addC2PSA(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let cv1 = module.module("cv1"), let cv2 = module.module("cv2"), let half = module["c"]?.int, half >= 1 else {
            throw ModelFormatError.unsupportedModule(type: "\(module.type) without cv1/cv2/c", layer: layer)
        }
        // C2PSA runs the PSABlocks of `m`; YOLOv10's PSA holds one block's attn and ffn itself.
        let blocks: [PickleObject?] = module.type.name == "PSA" ? [module] : (module.module("m")?.modules.map(\.object) ?? [nil])
        let (a, b) = ("\(name).cv1.a", "\(name).cv1.b")
        try assembler.addSplitConv(cv1, name: "\(name).cv1", input: input, outputs: [a, b], sizes: [half, half], layer: layer)
        var current = b
        for (position, block) in blocks.enumerated() {
            guard let block, ["PSABlock", "PSA"].contains(block.type.name) else {
                throw ModelFormatError.unsupportedModule(type: "\(module.type).m[\(position)] (expected PSABlock)", layer: layer)
            }
            try addPSABlock(block, name: "\(name).m.\(position)", input: current, output: "\(name).m.\(position)", layer: layer)
            current = "\(name).m.\(position)"
        }
        assembler.add("\(name).cat", Concat(axis: 1), [a, current], ["\(name).cat"])
        try assembler.addConv(cv2, name: "\(name).cv2", input: "\(name).cat", output: output, layer: layer)
    }

    /// PSABlock: x = x + attn(x), then x = x + ffn(x) (without the additions when `add` is false).
    /// attn(x) = proj(attention(qkv(x)) + pe(v)); the additions are fused into pe and proj.
    private mutating func addPSABlock(_ module: PickleObject, name: String, input: String, output: String, layer: Int) throws {
        guard let attention = module.module("attn"), let ffn = module.module("ffn"), ffn.modules.count == 2,
              let ffn1 = ffn.modules[0].object, let ffn2 = ffn.modules[1].object,
              let qkv = attention.module("qkv"), let pe = attention.module("pe"), let proj = attention.module("proj"),
              let heads = attention["num_heads"]?.int, let keyChannels = attention["key_dim"]?.int,
              let valueChannels = attention["head_dim"]?.int, let scale = attention["scale"]?.double else {
            throw ModelFormatError.unsupportedModule(type: "PSABlock without attn(qkv, pe, proj, num_heads, key_dim, head_dim, scale)/ffn", layer: layer)
        }
        guard (1...64).contains(heads), (1...1024).contains(keyChannels), (1...1024).contains(valueChannels), scale.isFinite else {
            throw ModelFormatError.unsupportedModule(type: "Attention(heads \(heads), key_dim \(keyChannels), head_dim \(valueChannels))", layer: layer)
        }
        let shortcut = module["add"]?.bool ?? true
        let prefix = "\(name).attn"
        try assembler.addConv(qkv, name: "\(prefix).qkv", input: input, output: "\(prefix).qkv", layer: layer)
        let operation = SpatialAttention(heads: heads, keyChannels: keyChannels, valueChannels: valueChannels, scale: Float(scale))
        guard let qkvConv = assembler.nodes.last?.operation as? Conv, qkvConv.outChannels == heads * operation.channelsPerHead else {
            throw ModelFormatError.unsupportedModule(type: "Attention whose qkv convolution does not give \(heads) x (2 x \(keyChannels) + \(valueChannels)) channels",
                                                     layer: layer)
        }
        assembler.add("\(prefix).attention", operation, ["\(prefix).qkv"], ["\(prefix).attended", "\(prefix).v"])
        try assembler.addConv(pe, name: "\(prefix).pe", input: "\(prefix).v", output: "\(prefix).pe", layer: layer,
                              residual: "\(prefix).attended")
        try assembler.addConv(proj, name: "\(prefix).proj", input: "\(prefix).pe", output: prefix, layer: layer,
                              residual: shortcut ? input : nil)
        try assembler.addConv(ffn1, name: "\(name).ffn.0", input: prefix, output: "\(name).ffn.0", layer: layer)
        try assembler.addConv(ffn2, name: "\(name).ffn.1", input: "\(name).ffn.0", output: output, layer: layer,
                              residual: shortcut ? prefix : nil)
    }

    /// Detect (ultralytics; DDetect, DualDDetect of the yolov9 repository): per level, the box branch
    /// (cv2) and class branch (cv3), decoded by `AnchorFreeDetect`.
    private mutating func addDetect(_ module: PickleObject, name: String, inputs: [String], output: String,
                                    layer: Int) throws -> AnchorFreeDetect {
        // ultralytics' rule (Detect.end2end): the one-to-one head runs when it exists and the file asks
        // for it (`_end2end`, set by YOLOv10 and YOLO26 checkpoints of current versions) or the one-to-many
        // head is gone; otherwise the one-to-many head and NMS, which is what the reference then does.
        let hasOneToOne = module.module("one2one_cv2") != nil && module.module("one2one_cv3") != nil
        let endToEnd = hasOneToOne && (module["_end2end"]?.bool == true || module.module("cv2") == nil)
        guard let classCount = module["nc"]?.int, (1...100_000).contains(classCount),
              let boxBranches = module.module(endToEnd ? "one2one_cv2" : "cv2"),
              let classBranches = module.module(endToEnd ? "one2one_cv3" : "cv3") else {
            throw ModelFormatError.unsupportedModule(type: "Detect without nc/cv2/cv3", layer: layer)
        }
        let levelCount = module["nl"]?.int ?? inputs.count
        let bins = module["reg_max"]?.int ?? 16
        // DualDDetect (yolov9-c as trained) has two heads; the reference reads the first (`model(x)[0]`
        // is the pair, and yolov9's non_max_suppression keeps `prediction[0]`): cv2/cv3 on the first
        // `nl` inputs, the reversible auxiliary branch's.
        let inputs = module.type.name == "DualDDetect" && inputs.count == 2 * levelCount ? Array(inputs.prefix(levelCount)) : inputs
        guard inputs.count == levelCount, boxBranches.modules.count == levelCount, classBranches.modules.count == levelCount,
              (1...64).contains(bins) else {
            throw ModelFormatError.unknownArchitecture("Detect has \(inputs.count) inputs, nl=\(levelCount), \(boxBranches.modules.count) box and \(classBranches.modules.count) class branches, reg_max \(bins)")
        }
        guard let strideTensor = module["stride"]?.tensor ?? module.tensor("stride") else {
            throw ModelFormatError.unsupportedModule(type: "Detect without stride", layer: layer)
        }
        let strides = try checkpoint.floats(strideTensor, name: "\(name).stride")
        guard strides.count == levelCount, strides.allSatisfy({ $0 >= 1 && $0 <= 256 && $0 == $0.rounded() }) else {
            throw ModelFormatError.unsupportedModule(type: "Detect(strides \(strides))", layer: layer)
        }
        var binWeights = (0..<bins).map(Float.init)
        if bins > 1 {
            guard let dfl = module.module("dfl"), let conv = dfl.module("conv"), let weight = conv.tensor("weight"),
                  weight.shape == [1, bins, 1, 1] else {
                throw ModelFormatError.unsupportedModule(type: "Detect without a DFL convolution of \(bins) bins", layer: layer)
            }
            binWeights = try checkpoint.floats(weight, name: "\(name).dfl.conv.weight")
        }
        var levelOutputs: [String] = []
        for level in 0..<levelCount {
            guard let box = boxBranches.modules[level].object, let scores = classBranches.modules[level].object else {
                throw ModelFormatError.unsupportedModule(type: "Detect branch \(level) (None)", layer: layer)
            }
            for (branch, prefix, channels) in [(box, "\(name).cv2.\(level)", 4 * bins), (scores, "\(name).cv3.\(level)", classCount)] {
                _ = try assembler.addSequential(branch, name: prefix, input: inputs[level], output: prefix, layer: layer)
                guard let last = assembler.nodes.last?.operation as? Conv, last.outChannels == channels else {
                    throw ModelFormatError.shapeMismatch(tensor: "\(prefix) output", expected: [channels],
                                                         actual: [(assembler.nodes.last?.operation as? Conv)?.outChannels ?? -1])
                }
                levelOutputs.append(prefix)
            }
        }
        let detect = AnchorFreeDetect(classCount: classCount, strides: strides, binWeights: binWeights, corners: endToEnd)
        assembler.add(name, detect, levelOutputs, [output])
        return detect
    }
}
