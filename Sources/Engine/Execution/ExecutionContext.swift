import Dispatch

/// Per-run state for a `Network`: oneDNN primitives cached per input shape and a buffer pool. Not
/// thread-safe: use one context per concurrent inference (the network itself is shared).
public final class ExecutionContext {
    public let network: Network
    private var plans: [PlanKey: OneDNNConvolutionPlan] = [:]
    private let pool = BufferPool()
    private let workspace = OneDNNWorkspace()
    /// The graph input shapes of the latest runs, most recent last: plans are kept for at most
    /// `planShapeLimit` of them. Why a bound: a plan for a new size may hold its own weights (Winograd
    /// layouts depend on the size: ~300 MB per size for MDv5a), and the sizes come from the photos.
    private var recentInputShapes: [[[Int]]] = []
    /// Input sizes whose plans are kept; a job's photos rarely have more aspect ratios (as
    /// `Detector.boundShapeLimit`), and a size that returns after eviction is planned again.
    public static let planShapeLimit = 4

    private struct PlanKey: Hashable {
        var inputShapes: [[Int]]
        var node: Int
        var shape: [Int]
    }

    /// When set, `run` adds each node's wall time to `operationSeconds` under its op kind (and "/cl" or
    /// "/rm": whether an input arrived channels-last or row-major, i.e. whether a layout copy may hide in
    /// it). For finding where non-convolution time goes (`infer-raw --repeat`).
    public var recordsOperationTimes = false
    public var operationSeconds: [String: Double] = [:]

    public init(network: Network) {
        self.network = network
    }

    /// The input shapes for which plans are held now (at most `planShapeLimit`; in no particular order).
    public var plannedInputShapes: [[[Int]]] { Array(Set(plans.keys.map(\.inputShapes))) }

    /// Marks `shapes` as the latest input and drops the plans of the least recent one beyond the limit.
    private func keepPlans(for shapes: [[Int]]) {
        recentInputShapes.removeAll { $0 == shapes }
        recentInputShapes.append(shapes)
        guard recentInputShapes.count > Self.planShapeLimit else { return }
        let evicted = recentInputShapes.removeFirst()
        plans = plans.filter { $0.key.inputShapes != evicted }
    }

    /// oneDNN's kernel for each convolution planned so far, by node name: "jit:avx2",
    /// "brgconv:avx512_core", ... or "ref:any", its plain loops, a hundred times slower.
    public var convolutionKernels: [String: String] {
        Dictionary(plans.map { (network.graph.nodes[$0.key.node].name, $0.value.implementation) }) { first, _ in first }
    }

    /// Runs the graph. `observe`, when given, receives every node output (as a row-major tensor) in
    /// execution order, named as in the graph; that is how intermediate activations are dumped.
    /// `inspect` receives the same outputs' values in whatever layout they are stored (for statistics
    /// that do not depend on the order, such as calibration ranges), without a copy.
    public func run(_ inputs: [String: Tensor], observe: ((String, Tensor) -> Void)? = nil,
                    inspect: ((String, UnsafeBufferPointer<Float>) -> Void)? = nil) throws -> [String: Tensor] {
        let graph = network.graph
        let inputShapes = inputs.mapValues(\.shape)
        for input in graph.inputs {
            guard let shape = inputShapes[input.name] else { throw EngineError.missingInput(name: input.name) }
            guard shape.count == input.shape.count, zip(shape, input.shape).allSatisfy({ $1 < 0 || $0 == $1 }) else {
                throw EngineError.shapeMismatch(tensor: input.name, expected: "\(input.shape)", actual: shape)
            }
        }
        keepPlans(for: graph.inputs.map { inputShapes[$0.name]! })
        var values: [String: RuntimeValue] = [:]
        for (name, tensor) in inputs { values[name] = borrowed(tensor) }
        for (name, tensor) in graph.constants { values[name] = borrowed(tensor) }
        var remaining = network.consumerCounts

        for (index, node) in graph.nodes.enumerated() {
            let arguments = node.inputs.map { values[$0]! }
            let inputShapes = arguments.map(\.shape)
            let outputShapes = try node.operation.outputShapes(for: inputShapes, node: node.name)
            // The last reader of an owned value may reuse its storage (the residual of a fused Conv).
            let lastUse = node.inputs.map { remaining[$0] == 1 }
            let started = recordsOperationTimes ? DispatchTime.now().uptimeNanoseconds : 0
            let outputs = try execute(node: node, index: index, arguments: arguments, lastUse: lastUse,
                                      outputShapes: outputShapes)
            if recordsOperationTimes {
                let key = node.operation.kind + (arguments.contains { $0.layout == .channelsLast } ? "/cl" : "/rm")
                operationSeconds[key, default: 0] += Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
            }
            for (name, input) in zip(node.inputs, arguments) {
                remaining[name, default: 0] -= 1
                if remaining[name] == 0, input.owned, !outputs.contains(where: { $0.buffer === input.buffer }) {
                    pool.give(input.buffer)
                    values[name] = nil
                }
            }
            for (name, output) in zip(node.outputs, outputs) {
                values[name] = output
                if let observe { observe(name, tensor(output)) }
                if let inspect { inspect(name, UnsafeBufferPointer(start: output.buffer.pointer, count: output.count)) }
                if remaining[name, default: 0] == 0, output.owned { pool.give(output.buffer) }
            }
        }
        var results: [String: Tensor] = [:]
        for name in graph.outputs { results[name] = tensor(values[name]!) }
        for name in graph.outputs where values[name]!.owned { pool.give(values[name]!.buffer) }
        return results
    }

    // MARK: - Node dispatch

    private func execute(node: Graph.Node, index: Int, arguments: [RuntimeValue], lastUse: [Bool],
                         outputShapes: [[Int]]) throws -> [RuntimeValue] {
        if network.backend == .oneDNN {
            switch node.operation {
            case let conv as Conv:
                return [try convolution(conv, node: node, index: index, arguments: arguments, lastUse: lastUse,
                                        outputShape: outputShapes[0])]
            case let pool as MaxPool:
                return [channelsLastKernel(arguments[0], outputShapes[0]) { ChannelsLastKernels.maxPool(pool, $0, $1, inputShape: $2) }]
            case let crop as CropAndResize:
                let image = channelsLast(arguments[0])
                let boxes = rowMajor(arguments[1])
                let output = allocate(outputShapes[0], layout: .channelsLast)
                ChannelsLastKernels.cropAndResize(crop, image: image.buffer.pointer, imageShape: image.shape, boxes: boxes.buffer.pointer,
                                                  boxCount: boxes.shape[0], output.buffer.pointer)
                release(image, ifCopyOf: arguments[0])
                release(boxes, ifCopyOf: arguments[1])
                return [output]
            case let pool as AveragePool:
                return [channelsLastKernel(arguments[0], outputShapes[0]) { ChannelsLastKernels.averagePool(pool, $0, $1, inputShape: $2) }]
            case is GlobalAveragePool:
                return [channelsLastKernel(arguments[0], outputShapes[0]) { GlobalAveragePool.channelsLast($0, $1, inputShape: $2) }]
            case let resize as Resize:
                return [channelsLastKernel(arguments[0], outputShapes[0]) { ChannelsLastKernels.resize(resize, $0, $1, inputShape: $2) }]
            case let concat as Concat where concat.axis == 1 && arguments.allSatisfy({ $0.shape.count == 4 }):
                let inputs = arguments.map(channelsLast)
                let output = allocate(outputShapes[0], layout: .channelsLast)
                let shape = outputShapes[0]
                ChannelsLastKernels.concatChannels(inputs.map { (UnsafePointer($0.buffer.pointer), $0.shape[1]) },
                                                   output.buffer.pointer, pixels: shape[0] * shape[2] * shape[3])
                for (converted, original) in zip(inputs, arguments) { release(converted, ifCopyOf: original) }
                return [output]
            case let split as Split where split.axis == 1 && arguments[0].shape.count == 4:
                let input = channelsLast(arguments[0])
                let outputs = outputShapes.map { allocate($0, layout: .channelsLast) }
                let shape = input.shape
                ChannelsLastKernels.splitChannels(input.buffer.pointer, channels: shape[1], pixels: shape[0] * shape[2] * shape[3],
                                                  outputs.map { ($0.buffer.pointer, $0.shape[1]) })
                release(input, ifCopyOf: arguments[0])
                return outputs
            case is NearestResizeLike:
                let input = channelsLast(arguments[0])
                let output = allocate(outputShapes[0], layout: .channelsLast)
                ChannelsLastKernels.nearestResize(input.buffer.pointer, inputShape: input.shape, output.buffer.pointer, outputShape: outputShapes[0])
                release(input, ifCopyOf: arguments[0])
                return [output]
            case let detect as YOLOv5Detect:
                let inputs = arguments.map(channelsLast)
                let output = allocate(outputShapes[0], layout: .rowMajor)
                ChannelsLastKernels.yoloDetect(detect, inputs.map { (UnsafePointer($0.buffer.pointer), $0.shape) },
                                               output.buffer.pointer)
                for (converted, original) in zip(inputs, arguments) { release(converted, ifCopyOf: original) }
                return [output]
            case let unary as Unary:
                let input = arguments[0]
                let output = allocate(outputShapes[0], layout: input.layout)
                let (source, destination) = (input.buffer.pointer, output.buffer.pointer)
                for i in 0..<input.count { destination[i] = unary.apply(source[i]) }
                return [output]
            case let binary as Elementwise where arguments[0].shape == arguments[1].shape:
                let layout = arguments[0].layout
                let a = arguments[0]
                let b = layout == .channelsLast ? channelsLast(arguments[1]) : rowMajor(arguments[1])
                let output = allocate(outputShapes[0], layout: layout)
                let (x, y, z) = (a.buffer.pointer, b.buffer.pointer, output.buffer.pointer)
                for i in 0..<a.count { z[i] = binary.function.apply(x[i], y[i]) }
                release(b, ifCopyOf: arguments[1])
                return [output]
            case let binary as Elementwise where Self.channelGate(arguments[0].shape, arguments[1].shape) != nil:
                // x [N, C, H, W] with a per-sample, per-channel gate [N, C, 1, 1] (squeeze-excitation's
                // excite): channels-last, each pixel's channel vector against the gate.
                let gateFirst = Self.channelGate(arguments[0].shape, arguments[1].shape)!
                let tensor = channelsLast(arguments[gateFirst ? 1 : 0])
                let gate = rowMajor(arguments[gateFirst ? 0 : 1])
                let output = allocate(outputShapes[0], layout: .channelsLast)
                let (n, c, pixels) = (tensor.shape[0], tensor.shape[1], tensor.shape[2] * tensor.shape[3])
                let (x, g, z) = (tensor.buffer.pointer, gate.buffer.pointer, output.buffer.pointer)
                for sample in 0..<n {
                    let gates = g + sample * c
                    for pixel in 0..<pixels {
                        let offset = (sample * pixels + pixel) * c
                        if gateFirst {
                            for channel in 0..<c { z[offset + channel] = binary.function.apply(gates[channel], x[offset + channel]) }
                        } else {
                            for channel in 0..<c { z[offset + channel] = binary.function.apply(x[offset + channel], gates[channel]) }
                        }
                    }
                }
                release(tensor, ifCopyOf: arguments[gateFirst ? 1 : 0])
                release(gate, ifCopyOf: arguments[gateFirst ? 0 : 1])
                return [output]
            default:
                break
            }
        }
        // Everything else (and every op on the reference backend): the reference implementation.
        let results = node.operation.reference(arguments.map(tensor))
        return results.map { result in
            let value = allocate(result.shape, layout: .rowMajor)
            result.values.withUnsafeBufferPointer { value.buffer.pointer.update(from: $0.baseAddress!, count: result.count) }
            return value
        }
    }

    private func convolution(_ conv: Conv, node: Graph.Node, index: Int, arguments: [RuntimeValue], lastUse: [Bool],
                             outputShape: [Int]) throws -> RuntimeValue {
        let input = channelsLast(arguments[0])
        defer { release(input, ifCopyOf: arguments[0]) }
        let key = PlanKey(inputShapes: recentInputShapes.last ?? [], node: index, shape: input.shape)
        let plan: OneDNNConvolutionPlan
        if let cached = plans[key] {
            plan = cached
        } else {
            guard let weights = network.convolutionWeights[index] else {
                throw EngineError.backendFailure(node: node.name, message: "no prepared weights")
            }
            plan = try OneDNNConvolutionPlan(weights: weights, batch: input.shape[0], height: input.shape[2],
                                             width: input.shape[3], node: node.name)
            plans[key] = plan
        }
        var output: RuntimeValue
        if conv.addsResidual && !plan.residualInPlace {
            // The kernel reads the residual from its own buffer while writing a new one.
            output = allocate(outputShape, layout: .channelsLast)
            let residual = channelsLast(arguments[1])
            defer { release(residual, ifCopyOf: arguments[1]) }
            try plan.execute(source: input.buffer.pointer, residual: residual.buffer.pointer,
                             destination: output.buffer.pointer, workspace: workspace, node: node.name)
            return output
        }
        if conv.addsResidual {
            let residual = arguments[1]
            if residual.owned, residual.layout == .channelsLast, lastUse[1] {
                output = residual  // accumulate in place: the residual has no other reader
            } else {
                output = allocate(outputShape, layout: .channelsLast)
                let source = channelsLast(residual)
                output.buffer.pointer.update(from: source.buffer.pointer, count: output.count)
                release(source, ifCopyOf: residual)
            }
        } else {
            output = allocate(outputShape, layout: .channelsLast)
        }
        try plan.execute(source: input.buffer.pointer, residual: nil, destination: output.buffer.pointer, workspace: workspace,
                         node: node.name)
        return output
    }

    /// Runs a one-input channels-last kernel (source, destination, input shape) into a new value.
    /// For a binary op between a 4-D tensor and a per-channel gate [N, C, 1, 1]: whether the gate is the
    /// first operand (nil: not that shape pair).
    static func channelGate(_ a: [Int], _ b: [Int]) -> Bool? {
        func isGate(_ gate: [Int], of tensor: [Int]) -> Bool {
            tensor.count == 4 && gate == [tensor[0], tensor[1], 1, 1] && tensor[2] * tensor[3] > 1
        }
        if isGate(b, of: a) { return false }
        if isGate(a, of: b) { return true }
        return nil
    }

    private func channelsLastKernel(_ argument: RuntimeValue, _ outputShape: [Int],
                                    _ kernel: (UnsafePointer<Float>, UnsafeMutablePointer<Float>, [Int]) -> Void) -> RuntimeValue {
        let input = channelsLast(argument)
        let output = allocate(outputShape, layout: .channelsLast)
        kernel(input.buffer.pointer, output.buffer.pointer, input.shape)
        release(input, ifCopyOf: argument)
        return output
    }

    // MARK: - Values and layouts

    private func allocate(_ shape: [Int], layout: MemoryLayout4D) -> RuntimeValue {
        RuntimeValue(shape: shape, layout: shape.count == 4 ? layout : .rowMajor,
                     buffer: pool.take(shape.reduce(1, *)), owned: true)
    }

    private func borrowed(_ tensor: Tensor) -> RuntimeValue {
        let buffer = RuntimeBuffer(capacity: tensor.count)
        tensor.values.withUnsafeBufferPointer { buffer.pointer.update(from: $0.baseAddress!, count: tensor.count) }
        return RuntimeValue(shape: tensor.shape, layout: .rowMajor, buffer: buffer, owned: false)
    }

    private func channelsLast(_ value: RuntimeValue) -> RuntimeValue {
        guard value.shape.count == 4, value.layout == .rowMajor else { return value }
        let converted = allocate(value.shape, layout: .channelsLast)
        ChannelsLastKernels.toChannelsLast(value.buffer.pointer, converted.buffer.pointer, shape: value.shape)
        return converted
    }

    private func rowMajor(_ value: RuntimeValue) -> RuntimeValue {
        guard value.layout == .channelsLast else { return value }
        let converted = allocate(value.shape, layout: .rowMajor)
        ChannelsLastKernels.toRowMajor(value.buffer.pointer, converted.buffer.pointer, shape: value.shape)
        return converted
    }

    /// Returns a temporary layout copy to the pool (no-op when no copy was made).
    private func release(_ converted: RuntimeValue, ifCopyOf original: RuntimeValue) {
        if converted.buffer !== original.buffer { pool.give(converted.buffer) }
    }

    private func tensor(_ value: RuntimeValue) -> Tensor {
        let plain = rowMajor(value)
        defer { release(plain, ifCopyOf: value) }
        return Tensor(shape: value.shape, values: Array(UnsafeBufferPointer(start: plain.buffer.pointer, count: value.count)))
    }
}
