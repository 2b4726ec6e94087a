import Foundation

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
    /// int8: sources quantized with a lower signal-to-noise ratio (dB) keep their convolution in fp32.
    public var minimumSignalToNoise: Double = PrecisionPlan.defaultMinimumSignalToNoise
    /// 40 dB (rounding noise 1 % of the signal's RMS), or MEGADETECTOR_INT8_MIN_SNR (for measuring the
    /// trade-off). Why 40: on the trained YOLOX-Nano every lower line we tried (20-35 dB) lost 3-16 %
    /// of the fp32 detections >= 0.2 (README, "Precision fidelity"); at 40 dB it keeps them all. The
    /// price is speed: at 40 dB only 16 of the random-weight MDv5a's 163 convolutions qualify (median
    /// source SNR 37 dB at 128 levels), so int8 then runs close to fp32's time.
    public static let defaultMinimumSignalToNoise: Double = {
        let environment = ProcessInfo.processInfo.environment["MEGADETECTOR_INT8_MIN_SNR"]
        return environment.flatMap(Double.init) ?? 40
    }()

    /// The line is drawn at 128 source levels on every CPU, also where VNNI quantizes sources to 256.
    /// Why: the 40 dB line was validated at 128 levels, and the error of a network grows with the number
    /// of int8 layers, not only with each layer's rounding: measured on the trained YOLOX-Nano on an
    /// AVX512-VNNI host (2026-12-07), judging SNR at 256 levels let 27 of 113 convolutions through and
    /// lost 6 of 74 fp32 detections, with 6 added and a 0.16 confidence error, where the 128-level
    /// selection (3 layers) keeps all 74. So every CPU runs the same layers in int8; VNNI only rounds
    /// them more finely.
    public static let selectionLevels = 128

    public static let fp32 = PrecisionPlan(precision: .fp32, ranges: nil)
    public static let bf16 = PrecisionPlan(precision: .bf16, ranges: nil)
    public static func int8(_ ranges: ActivationRanges) -> PrecisionPlan { PrecisionPlan(precision: .int8, ranges: ranges) }

    /// Which convolutions run in reduced precision, and why the others stay float32 (on the oneDNN
    /// backend bf16 also leaves the layers float32 runs through Winograd in float32; see `Network.init`):
    /// - grouped (depthwise) ones: oneDNN's int8 depthwise kernel was slower than its float32 one on
    ///   AVX2 (measured), and they are a small share of the work;
    /// - the first convolution in graph order (it reads the photo's pixels, possibly rearranged as in
    ///   YOLOv5's and YOLOX's Focus; little work, and quantizing pixels to 127 levels loses detail);
    /// - convolutions without a hidden-layer activation (none, or a sigmoid): in the detectors we run
    ///   these are the heads that produce box offsets, logits or scores, where small errors move boxes
    ///   and confidences directly.
    /// int8 also needs a calibrated range for the convolution's source, and keeps float32 where that
    /// source would lose too much to rounding: heavy-tailed activations (a range set by rare large
    /// values, most values near 0) leave few levels for the bulk of the signal.
    /// `minimumSignalToNoise` (dB) draws that line.
    /// Returns the source's range (int8; 0...0 for bf16) for a reduced-precision convolution, nil for
    /// float32.
    func reducedPrecisionRange(for conv: Conv, sourceName: String, isFirstConvolution: Bool) -> ClosedRange<Float>? {
        guard precision != .fp32, conv.groups == 1, !isFirstConvolution, conv.activation.isHidden else { return nil }
        guard precision == .int8 else { return 0...0 }
        guard let ranges, let range = ranges.bounds[sourceName], range.upperBound > range.lowerBound else { return nil }
        if let snr = ranges.signalToNoise(sourceName, levels: Self.selectionLevels), snr < minimumSignalToNoise { return nil }
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

extension Activation {
    /// An activation of a hidden layer (SiLU, ReLU, leaky ReLU, hard swish), as opposed to none or a
    /// sigmoid, which in the detectors we run mark a prediction head.
    var isHidden: Bool {
        switch self {
        case .silu, .relu, .leakyRelu, .hardswish: return true
        case .none, .sigmoid: return false
        }
    }
}
