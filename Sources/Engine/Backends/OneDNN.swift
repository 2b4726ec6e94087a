#if OneDNN
import CDNNLShim

/// oneDNN, seen through the C shim: availability, version and thread count.
public enum OneDNN {
    /// True when the oneDNN CPU engine can be created on this machine.
    public static let isAvailable: Bool = md_dnnl_available() != 0

    public static var version: String {
        var major: Int32 = 0, minor: Int32 = 0, patch: Int32 = 0
        md_dnnl_version(&major, &minor, &patch)
        return "\(major).\(minor).\(patch)"
    }

    /// Native bf16 arithmetic (AVX512-BF16 or AMX) as oneDNN sees this CPU.
    public static let hasNativeBF16: Bool = md_dnnl_has_native_bf16() != 0
    /// oneDNN has JIT int8 convolutions for this CPU (AVX2 or newer).
    public static let hasInt8Kernels: Bool = md_dnnl_has_int8_kernels() != 0

    /// oneDNN's float32 Winograd convolution runs on this CPU (AVX-512 in oneDNN 2.x): the 3x3 stride-1
    /// layers with at most 320 x 320 channels use it (dnnl_winograd.c).
    public static let hasFloat32Winograd: Bool = md_dnnl_has_winograd() != 0

    /// Threads oneDNN's OpenMP runtime uses for every primitive that follows.
    public static func setThreads(_ count: Int) {
        md_dnnl_set_threads(Int32(count))
    }
}

extension OneDNNConvolutionWeights {
    static func message(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

extension OneDNNConvolutionPlan {
    static func message(_ buffer: [CChar]) -> String { OneDNNConvolutionWeights.message(buffer) }
}

/// A convolution's weights reordered once, at load, into oneDNN's preferred layout. Immutable after
/// creation, so it is shared by every execution context.
final class OneDNNConvolutionWeights: @unchecked Sendable {
    // Safety: the handle is written once in init and only read (by plan creation) afterwards.
    let handle: OpaquePointer

    /// `sourceRange`: int8 only, the calibrated range of the source (quantized over it, see dnnl_precision.c).
    init(conv: Conv, planningBatch: Int, planningHeight: Int, planningWidth: Int, precision: Precision = .fp32,
         sourceRange: ClosedRange<Float> = 0...0, node: String) throws {
        var geometry = Self.geometry(of: conv, precision: precision, sourceRange: sourceRange)
        var error = [CChar](repeating: 0, count: 256)
        let created = conv.weights.values.withUnsafeBufferPointer { weights in
            conv.bias.withUnsafeBufferPointer { bias in
                md_conv_weights_create(&geometry, weights.baseAddress, bias.baseAddress, Int32(planningBatch), Int32(planningHeight),
                                       Int32(planningWidth), &error, error.count)
            }
        }
        guard let created else {
            throw EngineError.backendFailure(node: node, message: Self.message(error))
        }
        handle = created
    }

    /// Whether `conv`, in float32, runs through oneDNN's Winograd kernel for an input of shape `input`
    /// (NCHW): bf16 networks keep such layers in float32 (see `Network.init`).
    static func takesFloat32Winograd(_ conv: Conv, input: [Int]) -> Bool {
        var geometry = geometry(of: conv, precision: .fp32, sourceRange: 0...0)
        return md_conv_takes_winograd(&geometry, Int32(input[0]), Int32(input[2]), Int32(input[3])) != 0
    }

    static func geometry(of conv: Conv, precision: Precision, sourceRange: ClosedRange<Float>) -> md_conv_geometry {
        var geometry = md_conv_geometry()
        switch precision {
        case .fp32: geometry.precision = Int32(MD_PRECISION_FP32.rawValue)
        case .bf16: geometry.precision = Int32(MD_PRECISION_BF16.rawValue)
        case .int8:
            geometry.precision = Int32(MD_PRECISION_INT8.rawValue)
            geometry.input_min = sourceRange.lowerBound
            geometry.input_max = sourceRange.upperBound
        }
        geometry.in_channels = Int32(conv.inChannels)
        geometry.out_channels = Int32(conv.outChannels)
        geometry.kernel_h = Int32(conv.kernel.height)
        geometry.kernel_w = Int32(conv.kernel.width)
        geometry.stride_h = Int32(conv.strides.height)
        geometry.stride_w = Int32(conv.strides.width)
        geometry.pad_top = Int32(conv.pads[0])
        geometry.pad_left = Int32(conv.pads[1])
        geometry.pad_bottom = Int32(conv.pads[2])
        geometry.pad_right = Int32(conv.pads[3])
        geometry.dilation_h = Int32(conv.dilations.height)
        geometry.dilation_w = Int32(conv.dilations.width)
        geometry.groups = Int32(conv.groups)
        geometry.add_residual = conv.addsResidual ? 1 : 0
        (geometry.activation, geometry.activation_alpha) = Self.shimActivation(conv.activation)
        (geometry.residual_activation, geometry.residual_activation_alpha) = Self.shimActivation(conv.residualActivation)
        return geometry
    }

    /// The shim's activation code and alpha for an activation.
    static func shimActivation(_ activation: Activation) -> (Int32, Float) {
        switch activation {
        case .none: return (Int32(MD_ACTIVATION_NONE.rawValue), 0)
        case .silu: return (Int32(MD_ACTIVATION_SILU.rawValue), 0)
        case .relu: return (Int32(MD_ACTIVATION_RELU.rawValue), 0)
        case let .leakyRelu(alpha): return (Int32(MD_ACTIVATION_RELU.rawValue), alpha)
        case .sigmoid: return (Int32(MD_ACTIVATION_SIGMOID.rawValue), 0)
        case .hardswish: return (Int32(MD_ACTIVATION_HARDSWISH.rawValue), 0)
        }
    }

    deinit {
        md_conv_weights_destroy(handle)
    }
}

/// A ready-to-run oneDNN convolution for one input shape; owned by one execution context.
final class OneDNNConvolutionPlan {
    let handle: OpaquePointer
    let outputHeight: Int
    let outputWidth: Int
    /// True when a residual is accumulated into the destination; false when the kernel reads it from
    /// its own buffer (oneDNN's AVX2 kernels need that for an activation followed by the residual add).
    let residualInPlace: Bool
    /// oneDNN's name for the kernel it runs: "jit:avx2", "brgconv:avx512_core", "ref:any" (slow), ...
    let implementation: String

    /// A shape that wants another weights layout than the shared one reorders from oneDNN's copies (see
    /// md_conv_plan_create), never from the graph's float32 weights, which may be released.
    init(weights: OneDNNConvolutionWeights, batch: Int, height: Int, width: Int, node: String) throws {
        var error = [CChar](repeating: 0, count: 256)
        guard let created = md_conv_plan_create(weights.handle, Int32(batch), Int32(height), Int32(width), &error, error.count) else {
            throw EngineError.backendFailure(node: node, message: Self.message(error))
        }
        handle = created
        var outH: Int32 = 0, outW: Int32 = 0
        md_conv_plan_output_size(created, &outH, &outW)
        outputHeight = Int(outH)
        outputWidth = Int(outW)
        residualInPlace = md_conv_plan_residual_in_place(created) != 0
        implementation = String(cString: md_conv_plan_implementation(created))
        workspaceBytes = md_conv_plan_workspace_size(created)
    }

    /// Working memory the kernel needs, given by the caller (`OneDNNWorkspace`).
    let workspaceBytes: Int

    /// Runs the convolution. With a residual: `residual` nil means it is already in `destination`
    /// (only when `residualInPlace`); otherwise it is read from `residual`, which must not alias it.
    func execute(source: UnsafePointer<Float>, residual: UnsafePointer<Float>?, destination: UnsafeMutablePointer<Float>,
                 workspace: OneDNNWorkspace, node: String) throws {
        var error = [CChar](repeating: 0, count: 256)
        let memory = workspace.memory(bytes: workspaceBytes)
        if md_conv_plan_execute(handle, source, residual, destination, memory, &error, error.count) != 0 {
            throw EngineError.backendFailure(node: node, message: Self.message(error))
        }
    }

    deinit {
        md_conv_plan_destroy(handle)
    }
}

/// The working memory oneDNN convolutions need (scratchpad, and blocked copies of their data where that
/// layout is faster), owned by one execution context and grown to the largest plan's need. Why not
/// oneDNN's own scratchpad: it is per thread, and Swift tasks move between threads (see dnnl_shim.c).
final class OneDNNWorkspace {
    private var buffer: UnsafeMutableRawPointer?
    private var capacity = 0

    /// At least `bytes` of 64-byte aligned memory, valid until the next call; nil for 0 bytes.
    func memory(bytes: Int) -> UnsafeMutableRawPointer? {
        guard bytes > 0 else { return nil }
        if bytes > capacity {
            buffer?.deallocate()
            buffer = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 64)
            capacity = bytes
        }
        return buffer
    }

    deinit {
        buffer?.deallocate()
    }
}
#endif
