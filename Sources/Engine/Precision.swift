/// The arithmetic of a network's convolutions. Everything else (concatenation, resizing, pooling, the
/// detection head's decode, NMS, box mapping) is float32 in every mode.
public enum Precision: String, Sendable, CaseIterable, Codable {
    /// float32 throughout: the reference's answers (the default).
    case fp32
    /// bf16 source and weights with float32 accumulation, on CPUs with native bf16 (AVX512-BF16, AMX).
    case bf16
    /// int8 source and weights with int32 accumulation; needs calibrated activation ranges.
    case int8
}

/// A precision with what it needs: int8 carries the calibrated activation ranges of the network.
public struct PrecisionPlan: Sendable {
    public let precision: Precision
    public let ranges: ActivationRanges?

    public static let fp32 = PrecisionPlan(precision: .fp32, ranges: nil)
    public static let bf16 = PrecisionPlan(precision: .bf16, ranges: nil)
    public static func int8(_ ranges: ActivationRanges) -> PrecisionPlan { PrecisionPlan(precision: .int8, ranges: ranges) }

    /// Which convolutions run in reduced precision, and why the others stay float32:
    /// - grouped (depthwise) ones: oneDNN's int8 depthwise kernel was slower than its float32 one on
    ///   AVX2 (measured), and they are a small share of the work;
    /// - the first convolution (it reads the photo itself: three channels, little work, and the
    ///   input's precision matters most there);
    /// - convolutions without an activation: in the detectors we run these are the heads that produce
    ///   raw box and class logits, where small errors move boxes and confidences directly.
    /// int8 also needs a calibrated range for the convolution's source.
    /// Returns the range (int8) or 0 (bf16) for a reduced-precision convolution, nil for float32.
    func reducedPrecisionRange(for conv: Conv, sourceName: String, graphInputs: Set<String>) -> Float? {
        guard precision != .fp32, conv.groups == 1, !graphInputs.contains(sourceName), conv.activation != .none else { return nil }
        guard precision == .int8 else { return 0 }
        guard let range = ranges?.maxAbs[sourceName], range > 0, range.isFinite else { return nil }
        return range
    }
}

extension Precision {
    /// Whether this machine can run the precision fast, and if not, why (a sentence for the user).
    public var unavailabilityReason: String? {
        switch self {
        case .fp32:
            return nil
        case .bf16:
            guard OneDNN.isAvailable else { return "bf16 needs the oneDNN backend, which this build lacks" }
            if OneDNN.hasNativeBF16 { return nil }
            return """
                bf16 needs a CPU with native bf16 arithmetic (AVX512-BF16 or AMX, e.g. Intel Sapphire Rapids or \
                AMD Zen 4 and later); this CPU has neither, and oneDNN would refuse or emulate it more slowly \
                than fp32 (ARM CPUs are not supported for bf16 by this build either); run --precision fp32 or int8
                """
        case .int8:
            guard OneDNN.isAvailable else { return "int8 needs the oneDNN backend, which this build lacks" }
            if OneDNN.hasInt8Kernels { return nil }
            return "int8 needs a CPU with AVX2 or newer for oneDNN's int8 kernels; run --precision fp32"
        }
    }
}
