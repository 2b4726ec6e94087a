import Engine
import Testing
import TestSupport

/// Reduced-precision convolutions: which ones switch, how close they stay to float32, and the refusal
/// where the CPU cannot run a mode fast.
@Suite struct PrecisionTests {
    static let shape = [1, 16, 24, 40]

    /// stem (reads the graph input) -> body3 (3x3 SiLU) -> body1 (1x1 SiLU + residual) -> grouped
    /// (depthwise) -> head (no activation): only body3 and body1 qualify for reduced precision.
    static func graph() throws -> Graph {
        var random = SeededGenerator(seed: 11)
        let channels = shape[1]
        func conv(_ kernel: Int, _ activation: Activation, inputs: Int = channels, groups: Int = 1, residual: Bool = false, scale: Float = 0.15) -> Conv {
            Conv(weights: random.tensor([channels, inputs / groups, kernel, kernel], scale: scale), bias: random.tensor([channels], scale: 0.5).values,
                 pads: Array(repeating: kernel / 2, count: 4), groups: groups, activation: activation, addsResidual: residual)
        }
        return try Graph(inputs: [Graph.Input(name: "x", shape: shape)], outputs: ["b", "out"], nodes: [
            Graph.Node(name: "stem", operation: conv(3, .silu, scale: 0.3), inputs: ["x"], outputs: ["s"]),
            Graph.Node(name: "body3", operation: conv(3, .silu), inputs: ["s"], outputs: ["a"]),
            Graph.Node(name: "body1", operation: conv(1, .silu, residual: true, scale: 0.3), inputs: ["a", "a"], outputs: ["b"]),
            Graph.Node(name: "grouped", operation: conv(3, .silu, inputs: channels, groups: channels, scale: 0.3), inputs: ["b"], outputs: ["g"]),
            Graph.Node(name: "head", operation: conv(1, .none, scale: 0.3), inputs: ["g"], outputs: ["out"]),
        ])
    }

    static func input(seed: UInt64) -> Tensor {
        var random = SeededGenerator(seed: seed)
        return random.tensor(shape, scale: 2)
    }

    @Test(.enabled(if: OneDNN.isAvailable && OneDNN.hasInt8Kernels, "needs oneDNN with int8 kernels (AVX2 or newer)"))
    func int8RunsTheBodyConvolutionsInInt8AndStaysCloseToFloat32() throws {
        let fp32 = try Network(graph: try Self.graph(), backend: .oneDNN, planningInputShapes: ["x": Self.shape])
        // Calibrated on two inputs, measured on a third drawn the same way.
        var ranges = try ActivationRanges.measure(fp32, inputs: ["x": Self.input(seed: 1)])
        ranges.merge(try ActivationRanges.measure(fp32, inputs: ["x": Self.input(seed: 2)]))
        let int8 = try fp32.with(precision: .int8(ranges))
        #expect(int8.convolutionPrecisions == ["stem": .fp32, "body3": .int8, "body1": .int8, "grouped": .fp32, "head": .fp32])

        let inputs = ["x": Self.input(seed: 3)]
        let expected = try fp32.run(inputs)
        let context = ExecutionContext(network: int8)
        let actual = try context.run(inputs)
        #expect(context.convolutionKernels["body3"]?.contains("int8") == true, "\(context.convolutionKernels)")
        // int8 with 128 (or 256) levels per source and 255 per output channel: errors of about 1 % of
        // the output's range after two quantized layers; 3 % bounds it with margin, while a wrong
        // scale, zero point or bias is off by far more.
        for name in ["b", "out"] {
            let reference = try #require(expected[name]), value = try #require(actual[name])
            let range = reference.values.map(abs).max() ?? 0
            let error = value.maxAbsoluteDifference(to: reference)
            #expect(error < 0.03 * range, "\(name): max error \(error) against range \(range)")
            #expect(error > 0, "\(name): int8 gave exactly the float32 numbers, so it did not run")
        }
    }

    @Test func calibrationRangesAreTheExtremesOfEachConvolutionSource() throws {
        let network = try Network(graph: try Self.graph(), backend: .reference, planningInputShapes: ["x": Self.shape])
        var observed: [String: ClosedRange<Float>] = [:]
        _ = try ExecutionContext(network: network).run(["x": Self.input(seed: 5)], observe: { name, tensor in
            observed[name] = tensor.values.min()!...tensor.values.max()!
        })
        let ranges = try ActivationRanges.measure(network, inputs: ["x": Self.input(seed: 5)])
        // Every convolution source but the graph input itself (never quantized: the stem stays float32).
        #expect(ranges.bounds == ["s": observed["s"]!, "a": observed["a"]!, "b": observed["b"]!, "g": observed["g"]!])
    }

    @Test(.enabled(if: OneDNN.isAvailable && OneDNN.hasInt8Kernels, "needs oneDNN with int8 kernels (AVX2 or newer)"))
    func int8WithoutARangeForASourceKeepsThatConvolutionInFloat32() throws {
        let fp32 = try Network(graph: try Self.graph(), backend: .oneDNN, planningInputShapes: ["x": Self.shape])
        let int8 = try fp32.with(precision: .int8(ActivationRanges(bounds: ["a": -0.3...4])))
        #expect(int8.convolutionPrecisions["body3"] == .fp32)
        #expect(int8.convolutionPrecisions["body1"] == .int8)
    }

    @Test(.enabled(if: !OneDNN.hasNativeBF16, "this CPU has native bf16; the refusal applies to CPUs without it"))
    func bf16IsRefusedWithTheReasonOnCPUsWithoutNativeBF16() throws {
        let graph = try Self.graph()
        #expect {
            _ = try Network(graph: graph, backend: .oneDNN, planningInputShapes: ["x": Self.shape], precision: .bf16)
        } throws: { error in
            "\(error)".contains("AVX512-BF16 or AMX") && "\(error)".contains("--precision fp32 or int8")
        }
    }

    @Test(.enabled(if: OneDNN.hasNativeBF16, "needs a CPU with native bf16 (AVX512-BF16 or AMX); this one has none"))
    func bf16StaysCloseToFloat32() throws {
        let fp32 = try Network(graph: try Self.graph(), backend: .oneDNN, planningInputShapes: ["x": Self.shape])
        let bf16 = try fp32.with(precision: .bf16)
        // A 3x3 stride-1 layer that float32 runs through oneDNN's Winograd kernel (AVX-512) stays float32
        // in bf16 networks: fewer multiplications, and float32's rounding (Network.init).
        #expect(bf16.convolutionPrecisions["body3"] == (OneDNN.hasFloat32Winograd ? .fp32 : .bf16))
        #expect(bf16.convolutionPrecisions["body1"] == .bf16)
        let inputs = ["x": Self.input(seed: 3)]
        let context = ExecutionContext(network: bf16)
        let expected = try fp32.run(inputs), actual = try context.run(inputs)
        #expect(context.convolutionKernels["body1"]?.contains("bf16") == true, "\(context.convolutionKernels)")
        if OneDNN.hasFloat32Winograd {
            #expect(context.convolutionKernels["body3"]?.contains("wino") == true, "\(context.convolutionKernels)")
        }
        for name in ["b", "out"] {
            let reference = try #require(expected[name])
            let range = reference.values.map(abs).max() ?? 0
            // bf16 keeps 8 bits of mantissa: about 0.4 % per value, less after float32 accumulation.
            #expect(try #require(actual[name]).maxAbsoluteDifference(to: reference) < 0.02 * range)
        }
    }
}
