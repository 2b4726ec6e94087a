#if !OneDNN
/// Stand-ins when the package is built without the OneDNN trait: oneDNN reports itself unavailable,
/// so every network runs on the reference backend and these types are never instantiated.
public enum OneDNN {
    public static let isAvailable = false
    public static var version: String { "not built in" }
    public static let hasNativeBF16 = false
    public static let hasInt8Kernels = false
    public static let hasFloat32Winograd = false
    public static func setThreads(_ count: Int) {}
}

final class OneDNNConvolutionWeights: Sendable {
    init(conv: Conv, planningBatch: Int, planningHeight: Int, planningWidth: Int, precision: Precision = .fp32,
         sourceRange: ClosedRange<Float> = 0...0, node: String) throws {
        throw EngineError.unsupported(node: node, reason: "built without oneDNN")
    }

    static func takesFloat32Winograd(_ conv: Conv, input: [Int]) -> Bool { false }
}

final class OneDNNWorkspace {}

final class OneDNNConvolutionPlan {
    let outputHeight = 0
    let outputWidth = 0
    let residualInPlace = true
    let implementation = "none"

    init(weights: OneDNNConvolutionWeights, batch: Int, height: Int, width: Int, node: String) throws {
        throw EngineError.unsupported(node: node, reason: "built without oneDNN")
    }

    func execute(source: UnsafePointer<Float>, residual: UnsafePointer<Float>?, destination: UnsafeMutablePointer<Float>,
                 workspace: OneDNNWorkspace, node: String) throws {
        throw EngineError.unsupported(node: node, reason: "built without oneDNN")
    }
}
#endif
