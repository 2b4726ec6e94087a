import Engine
import Testing
import TestSupport

/// `Network.releasingGraphWeights()`: once oneDNN holds its own copies, the graph's float32 convolution
/// weights go (560 MB for MDv5a). The network must still run at every input size, because plans for a
/// new size lay their weights out from what oneDNN kept (Winograd's and int8's plain copies, the other
/// layouts reordered from the prepared ones), and must refuse to be prepared again.
@Suite(.enabled(if: OneDNN.isAvailable, "needs oneDNN (the reference backend never releases its weights)"))
struct ReleasedGraphWeightsTests {
    static let channels = 32
    static let planningShape = [1, 16, 24, 40]
    /// The planning size, one small enough for Winograd's F(2x2, 3x3), one larger and not a multiple of 4.
    static let sizes = [[24, 40], [7, 10], [50, 66]]

    /// stem (3x3, Winograd-eligible in float32) -> down (3x3 stride 2, direct) -> body (3x3 SiLU plus
    /// residual, Winograd-eligible) -> pointwise (1x1) -> depthwise (grouped) -> head (1x1, no activation).
    static func graph() throws -> Graph {
        var random = SeededGenerator(seed: 23)
        let c = channels
        func conv(_ inputs: Int, kernel: Int, stride: Int = 1, groups: Int = 1, _ activation: Activation = .silu,
                  residual: Bool = false, scale: Float = 0.05) -> Conv {
            Conv(weights: random.tensor([c, inputs / groups, kernel, kernel], scale: scale), bias: random.tensor([c], scale: 0.3).values,
                 strides: (stride, stride), pads: Array(repeating: kernel / 2, count: 4), groups: groups, activation: activation,
                 addsResidual: residual)
        }
        return try Graph(inputs: [Graph.Input(name: "x", shape: [1, 16, -1, -1])], outputs: ["body", "head"], nodes: [
            Graph.Node(name: "stem", operation: conv(16, kernel: 3, scale: 0.1), inputs: ["x"], outputs: ["s"]),
            Graph.Node(name: "down", operation: conv(c, kernel: 3, stride: 2), inputs: ["s"], outputs: ["d"]),
            Graph.Node(name: "body", operation: conv(c, kernel: 3, residual: true), inputs: ["d", "d"], outputs: ["body"]),
            Graph.Node(name: "pointwise", operation: conv(c, kernel: 1, scale: 0.15), inputs: ["body"], outputs: ["p"]),
            Graph.Node(name: "depthwise", operation: conv(c, kernel: 3, groups: c, scale: 0.3), inputs: ["p"], outputs: ["g"]),
            Graph.Node(name: "head", operation: conv(c, kernel: 1, .none, scale: 0.15), inputs: ["g"], outputs: ["head"]),
        ])
    }

    static func input(_ size: [Int], seed: UInt64) -> [String: Tensor] {
        var random = SeededGenerator(seed: seed)
        return ["x": random.tensor([1, 16, size[0], size[1]], scale: 2)]
    }

    static func float32Network() throws -> Network {
        try Network(graph: try graph(), backend: .oneDNN, planningInputShapes: ["x": planningShape])
    }

    /// Tolerance 1e-5 of the largest output against the reference loops: the test tensors are all
    /// positive (no cancellation), so float32 rounding, direct or Winograd, stays near 1e-6 of it
    /// (measured 3e-7 to 9e-7); a weight in the wrong place is off by a good share of it.
    @Test(arguments: sizes)
    func aReleasedFloat32NetworkRunsEverySizeAsTheReferenceDoes(_ size: [Int]) throws {
        let released = try Self.float32Network().releasingGraphWeights()
        #expect(released.graph.nodes.allSatisfy { ($0.operation as? Conv)?.holdsWeights != true }, "some float32 weights are still held")
        let inputs = Self.input(size, seed: 5)
        let context = ExecutionContext(network: released)
        let fast = try context.run(inputs)
        if OneDNN.hasFloat32Winograd {
            #expect(context.convolutionKernels["body"]?.contains("wino") == true, "body runs on \(context.convolutionKernels["body"] ?? "nothing")")
        }
        let reference = try Network(graph: try Self.graph(), backend: .reference, planningInputShapes: ["x": Self.planningShape]).run(inputs)
        for name in ["body", "head"] {
            let expected = try #require(reference[name])
            let difference = try #require(fast[name]).maxAbsoluteDifference(to: expected)
            let largest = expected.values.map(abs).max() ?? 0
            #expect(difference < 1e-5 * largest, "\(name) at \(size): \(difference), largest value \(largest)")
        }
    }

    /// int8 keeps its quantized weights in plain order for other sizes (its layouts carry compensation
    /// terms that do not reorder); the same 3 % of the output's range as PrecisionTests bounds the error.
    @Test(.enabled(if: OneDNN.hasInt8Kernels, "needs oneDNN's int8 kernels (AVX2 or newer)"))
    func aReleasedInt8NetworkRunsOtherSizes() throws {
        let fp32 = try Self.float32Network()
        var ranges = try ActivationRanges.measure(fp32, inputs: Self.input(Self.sizes[0], seed: 1))
        ranges.merge(try ActivationRanges.measure(fp32, inputs: Self.input(Self.sizes[0], seed: 2)))
        let int8 = try fp32.with(precision: .int8(ranges)).releasingGraphWeights()
        #expect(int8.convolutionPrecisions["body"] == .int8, "\(int8.convolutionPrecisions)")
        try Self.expectOtherSizesClose(int8, to: fp32, seed: 3, within: 0.03, kernel: ("body", "int8"))
    }

    /// Runs `reduced` at the sizes other than the planning one: each output within `fraction` of the
    /// float32 output's range, yet not equal to it (the reduced precision ran), and `kernel.node` on a
    /// kernel whose name contains `kernel.name`.
    static func expectOtherSizesClose(_ reduced: Network, to fp32: Network, seed: UInt64, within fraction: Float,
                                      kernel: (node: String, name: String)) throws {
        for size in sizes.dropFirst() {
            let inputs = input(size, seed: seed)
            let expected = try fp32.run(inputs)
            let context = ExecutionContext(network: reduced)
            let actual = try context.run(inputs)
            #expect(context.convolutionKernels[kernel.node]?.contains(kernel.name) == true, "\(context.convolutionKernels)")
            for name in ["body", "head"] {
                let reference = try #require(expected[name]), value = try #require(actual[name])
                let range = reference.values.map(abs).max() ?? 0
                let error = value.maxAbsoluteDifference(to: reference)
                #expect(error < fraction * range && error > 0, "\(name) at \(size): max error \(error) against range \(range)")
            }
        }
    }

    /// bf16 plans for other sizes reorder bf16 weights into another bf16 layout; "down" (3x3 stride 2)
    /// runs bf16's direct 3x3 kernel, "body" fp32's Winograd one where the CPU has it (Network.init).
    /// 2 % of the output's range, as PrecisionTests bounds bf16 (8 bits of mantissa).
    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs a CPU with native bf16 (AVX512-BF16 or AMX); this one has none"))
    func aReleasedBf16NetworkRunsOtherSizes() throws {
        let fp32 = try Self.float32Network()
        let bf16 = try fp32.with(precision: .bf16).releasingGraphWeights()
        #expect(bf16.convolutionPrecisions["down"] == .bf16 && bf16.convolutionPrecisions["pointwise"] == .bf16, "\(bf16.convolutionPrecisions)")
        #expect(bf16.convolutionPrecisions["body"] == (OneDNN.hasFloat32Winograd ? .fp32 : .bf16))
        try Self.expectOtherSizesClose(bf16, to: fp32, seed: 4, within: 0.02, kernel: ("down", "bf16"))
    }

    /// Plans (and the weights a plan for a new size may hold) are kept for the latest
    /// `ExecutionContext.planShapeLimit` input sizes only; a size that returns is planned again, from
    /// the released network's own copies, and gives the same numbers.
    @Test func plansAreKeptForTheLatestInputSizesOnly() throws {
        let context = ExecutionContext(network: try Self.float32Network().releasingGraphWeights())
        let sizes = (0...ExecutionContext.planShapeLimit).map { [16 + 8 * $0, 24] }
        let first = try context.run(Self.input(sizes[0], seed: 6))
        for size in sizes.dropFirst() { _ = try context.run(Self.input(size, seed: 6)) }
        #expect(context.plannedInputShapes.count == ExecutionContext.planShapeLimit)
        #expect(!context.plannedInputShapes.contains([[1, 16] + sizes[0]]), "the least recent size's plans were kept")
        let again = try context.run(Self.input(sizes[0], seed: 6))
        #expect(try #require(again["head"]).values == (try #require(first["head"])).values)
    }

    @Test func aReleasedNetworkRefusesToBePreparedAgainAndKeepsItsCounts() throws {
        let fp32 = try Self.float32Network()
        let released = fp32.releasingGraphWeights()
        #expect(released.parameterCount == fp32.parameterCount)
        #expect(released.convolutionPrecisions == fp32.convolutionPrecisions)
        #expect(throws: EngineError.self) { try released.with(precision: .fp32) }
        #expect(throws: EngineError.self) {
            try Network(graph: released.graph, backend: .reference, planningInputShapes: ["x": Self.planningShape])
        }
        // The original still holds its weights and converts as before.
        #expect(try fp32.with(precision: .fp32, backend: .reference).backend == .reference)
        let reference = try Network(graph: try Self.graph(), backend: .reference, planningInputShapes: ["x": Self.planningShape])
        #expect(reference.releasingGraphWeights() === reference, "the reference backend computes from the graph's weights")
    }
}
