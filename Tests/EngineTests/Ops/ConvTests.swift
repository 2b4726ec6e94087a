import Engine
import Testing
import TestSupport

struct ConvTests {
    /// A 1-channel 3x3 input with a 2x2 kernel of ones: each output is the sum of a 2x2 window.
    @Test func referenceMatchesHandComputation() {
        let x = Tensor(shape: [1, 1, 3, 3], values: [1, 2, 3, 4, 5, 6, 7, 8, 9])
        let conv = Conv(weights: Tensor(shape: [1, 1, 2, 2], values: [1, 1, 1, 1]), bias: [0.5])
        #expect(conv.reference([x])[0].values == [12.5, 16.5, 24.5, 28.5])
        let padded = Conv(weights: Tensor(shape: [1, 1, 1, 1], values: [2]), bias: nil, strides: (2, 2), pads: [1, 1, 0, 0])
        // Output 2x2 over the zero-padded 4x4 grid, sampling rows/cols -1 and 1.
        #expect(padded.reference([x])[0].values == [0, 0, 0, 10])
    }

    @Test func residualIsAddedAfterActivation() {
        let x = Tensor(shape: [1, 1, 1, 1], values: [-2])
        let residual = Tensor(shape: [1, 1, 1, 1], values: [10])
        let conv = Conv(weights: Tensor(shape: [1, 1, 1, 1], values: [1]), bias: nil, activation: .relu, addsResidual: true)
        #expect(conv.reference([x, residual])[0].values == [10])  // relu(-2) + 10
    }

    struct Case: CustomTestStringConvertible, Sendable {
        var input: [Int], out: Int, kernel: Int, stride: Int, pads: [Int], dilation: Int, groups: Int
        var activation: Activation, residual: Bool
        var testDescription: String { "in \(input) out \(out) k\(kernel) s\(stride) pads \(pads) d\(dilation) g\(groups) \(activation) residual \(residual)" }
    }

    static let cases: [Case] = [
        Case(input: [1, 3, 17, 19], out: 8, kernel: 6, stride: 2, pads: [2, 2, 2, 2], dilation: 1, groups: 1, activation: .silu, residual: false),
        Case(input: [1, 8, 9, 7], out: 16, kernel: 3, stride: 2, pads: [1, 1, 1, 1], dilation: 1, groups: 1, activation: .silu, residual: false),
        Case(input: [1, 16, 8, 8], out: 16, kernel: 1, stride: 1, pads: [0, 0, 0, 0], dilation: 1, groups: 1, activation: .none, residual: true),
        Case(input: [1, 16, 8, 8], out: 16, kernel: 3, stride: 1, pads: [1, 1, 1, 1], dilation: 1, groups: 1, activation: .silu, residual: true),
        Case(input: [2, 4, 6, 6], out: 8, kernel: 3, stride: 1, pads: [0, 1, 2, 1], dilation: 2, groups: 1, activation: .leakyRelu(alpha: 0.1), residual: false),
        Case(input: [1, 8, 10, 10], out: 8, kernel: 3, stride: 1, pads: [1, 1, 1, 1], dilation: 1, groups: 8, activation: .sigmoid, residual: false),
        Case(input: [1, 8, 5, 5], out: 4, kernel: 3, stride: 2, pads: [1, 1, 1, 1], dilation: 1, groups: 2, activation: .hardswish, residual: false),
        Case(input: [1, 5, 4, 4], out: 21, kernel: 1, stride: 1, pads: [0, 0, 0, 0], dilation: 1, groups: 1, activation: .relu, residual: false),
    ]

    /// oneDNN with fused post-ops against the reference loops. Tolerance 1e-4: float32 sums of at
    /// most a few hundred products of values in [-1, 1] differ only by summation order.
    @Test(arguments: cases)
    func oneDNNMatchesReference(_ c: Case) throws {
        var random = SeededGenerator(seed: 7)
        let weights = random.tensor([c.out, c.input[1] / c.groups, c.kernel, c.kernel], scale: 0.5)
        let bias = random.tensor([c.out]).values
        let conv = Conv(weights: weights, bias: bias, strides: (c.stride, c.stride), pads: c.pads,
                        dilations: (c.dilation, c.dilation), groups: c.groups, activation: c.activation, addsResidual: c.residual)
        let x = random.tensor(c.input)
        var inputs = [x]
        if c.residual {
            let size = conv.outputSize(height: c.input[2], width: c.input[3])
            inputs.append(random.tensor([c.input[0], c.out, size.height, size.width]))
        }
        #expect(try fastPathDifference(conv, inputs: inputs) < 1e-4)
    }

    @Test func wrongChannelCountIsAShapeError() {
        let conv = Conv(weights: Tensor(zeros: [4, 3, 1, 1]), bias: nil)
        #expect(throws: EngineError.self) { try conv.outputShapes(for: [[1, 5, 8, 8]], node: "c") }
    }
}

/// oneDNN picks a kernel per convolution and silently falls back to its plain loops ("ref:any") for
/// post-op chains its fast kernels refuse: on AVX2, oneDNN 2.6 does so for SiLU followed by the
/// residual sum, every YOLOv5 bottleneck, which made a 2048x1536 photo take nine minutes.
@Suite struct OneDNNKernelChoiceTests {
    /// A plain convolution, and the fused chains the detectors use, on one input.
    static func network(channels: Int) throws -> (Network, [String: Tensor]) {
        var random = SeededGenerator(seed: 3)
        func conv(_ kernel: Int, _ activation: Activation, residual: Bool, then: Activation = .none) -> Conv {
            Conv(weights: random.tensor([channels, channels, kernel, kernel], scale: 0.2), bias: random.tensor([channels]).values,
                 pads: Array(repeating: kernel / 2, count: 4), activation: activation, addsResidual: residual, residualActivation: then)
        }
        let shape = [1, channels, 24, 40]
        let graph = try Graph(inputs: [Graph.Input(name: "x", shape: shape)], outputs: ["plain", "silu3", "silu1", "relu"], nodes: [
            Graph.Node(name: "plain", operation: conv(3, .none, residual: false), inputs: ["x"], outputs: ["plain"]),
            Graph.Node(name: "silu3", operation: conv(3, .silu, residual: true), inputs: ["x", "plain"], outputs: ["silu3"]),
            Graph.Node(name: "silu1", operation: conv(1, .silu, residual: true), inputs: ["x", "plain"], outputs: ["silu1"]),
            Graph.Node(name: "relu", operation: conv(1, .none, residual: true, then: .relu), inputs: ["x", "plain"], outputs: ["relu"]),
        ])
        return (try Network(graph: graph, backend: .oneDNN, planningInputShapes: ["x": shape]), ["x": random.tensor(shape)])
    }

    /// Where oneDNN has a fast kernel for a plain convolution, the fused ones get one too, and give
    /// the reference backend's numbers (1e-4: float32 sums of a few hundred products in [-1, 1]).
    @Test(.enabled(if: OneDNN.isAvailable, "needs the oneDNN backend"), arguments: [32, 64])
    func fusedResidualChainsRunOnTheFastKernels(_ channels: Int) throws {
        let (network, inputs) = try Self.network(channels: channels)
        let context = ExecutionContext(network: network)
        let fast = try context.run(inputs)
        let kernels = context.convolutionKernels
        #expect(kernels.count == 4)
        let plain = try #require(kernels["plain"])
        if !plain.hasPrefix("ref") {
            for (node, kernel) in kernels { #expect(!kernel.hasPrefix("ref"), "\(node) runs on \(kernel) while a plain convolution runs on \(plain)") }
        }
        let reference = try Network(graph: network.graph, backend: .reference, planningInputShapes: ["x": [1, channels, 24, 40]]).run(inputs)
        for name in ["plain", "silu3", "silu1", "relu"] {
            #expect(try #require(fast[name]).maxAbsoluteDifference(to: try #require(reference[name])) < 1e-4, "\(name)")
        }
    }
}
