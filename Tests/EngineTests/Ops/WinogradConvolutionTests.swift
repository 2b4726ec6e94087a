import Engine
import Testing
import TestSupport

/// oneDNN's float32 Winograd kernel (AVX-512 CPUs) runs the 3x3 stride-1 convolutions of at most
/// 320 x 320 channels: the activation runs as its own primitive, the residual is added by the reorder
/// back to NHWC, and a plan for another input size lays its weights out anew from the plain float32 ones
/// (Winograd layouts depend on the size and do not reorder into one another). Checked against the
/// reference loops at the planning size and at two others.
@Suite struct WinogradConvolutionTests {
    static let channels = 64
    static let planningShape = [1, channels, 48, 64]

    /// The chains YOLOv5 uses on 3x3 convolutions (plain, SiLU, SiLU then the residual sum), LeakyReLU,
    /// and one the Winograd path must leave alone (an activation after the residual sum); each reads the
    /// input (the residual ones also "plain"), so values stay of order 1.
    static func network() throws -> Network {
        var random = SeededGenerator(seed: 11)
        func conv(_ activation: Activation, residual: Bool, then: Activation = .none) -> Conv {
            Conv(weights: random.tensor([channels, channels, 3, 3], scale: 0.1), bias: random.tensor([channels]).values,
                 pads: [1, 1, 1, 1], activation: activation, addsResidual: residual, residualActivation: then)
        }
        let graph = try Graph(inputs: [Graph.Input(name: "x", shape: [1, channels, -1, -1])],
                              outputs: ["plain", "silu", "bottleneck", "leaky", "activatedSum"], nodes: [
            Graph.Node(name: "plain", operation: conv(.none, residual: false), inputs: ["x"], outputs: ["plain"]),
            Graph.Node(name: "silu", operation: conv(.silu, residual: false), inputs: ["x"], outputs: ["silu"]),
            Graph.Node(name: "bottleneck", operation: conv(.silu, residual: true), inputs: ["x", "plain"], outputs: ["bottleneck"]),
            Graph.Node(name: "leaky", operation: conv(.leakyRelu(alpha: 0.1), residual: false), inputs: ["x"], outputs: ["leaky"]),
            Graph.Node(name: "activatedSum", operation: conv(.none, residual: true, then: .relu), inputs: ["x", "plain"],
                       outputs: ["activatedSum"]),
        ])
        return try Network(graph: graph, backend: .oneDNN, planningInputShapes: ["x": planningShape])
    }

    /// Tolerance 1e-4: sums of 576 products of weights within 0.1 and inputs of order 1 (outputs up to
    /// ~10); Winograd's transforms add rounding of the same order as the direct kernel's.
    @Test(.enabled(if: OneDNN.hasFloat32Winograd, "oneDNN has no float32 Winograd kernel on this CPU (it needs AVX-512)"),
          arguments: [[48, 64], [7, 10], [96, 130]])
    func bottlenecksRunWinogradAndMatchTheReference(_ size: [Int]) throws {
        let network = try Self.network()
        var random = SeededGenerator(seed: 5)
        let inputs = ["x": random.tensor([1, Self.channels, size[0], size[1]])]
        let context = ExecutionContext(network: network)
        let fast = try context.run(inputs)
        let kernels = context.convolutionKernels
        for name in ["plain", "silu", "bottleneck", "leaky"] {
            #expect(kernels[name]?.contains("wino") == true, "\(name) runs on \(kernels[name] ?? "nothing")")
        }
        #expect(kernels["activatedSum"]?.contains("wino") == false, "an activated sum cannot run Winograd's plan")
        let reference = try Network(graph: network.graph, backend: .reference, planningInputShapes: ["x": Self.planningShape]).run(inputs)
        for name in ["plain", "silu", "bottleneck", "leaky", "activatedSum"] {
            let difference = try #require(fast[name]).maxAbsoluteDifference(to: try #require(reference[name]))
            let largest = try #require(reference[name]).values.map(abs).max() ?? 0
            #expect(difference < 1e-4, "\(name): \(difference), largest value \(largest)")
        }
    }
}
