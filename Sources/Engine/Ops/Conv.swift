/// 2-D convolution (ONNX `Conv`) with bias and a fused epilogue: `activation(conv(x) + bias)`, then an
/// optional residual added after the activation (YOLOv5's `x + cv2(cv1(x))`), then an optional
/// `residualActivation` of the sum (InceptionResNet's `relu(x + scale * up(branches))`). BatchNorm is
/// folded into `weights` and `bias` before this op is built.
///
/// Inputs: `x` [N, C, H, W], and the residual [N, O, H', W'] when `addsResidual`.
public struct Conv: GraphOperation {
    public var kind: String { "Conv" }
    /// [outChannels, inChannels / groups, kernelHeight, kernelWidth]
    public let weightsShape: [Int]
    /// The float32 weights (`weightsShape`), nil once a oneDNN network released them (see `weights`).
    private let storedWeights: Tensor?
    public let bias: [Float]
    public let strides: (height: Int, width: Int)
    /// top, left, bottom, right
    public let pads: [Int]
    public let dilations: (height: Int, width: Int)
    public let groups: Int
    public let activation: Activation
    public let addsResidual: Bool
    /// Applied to the sum with the residual (only with `addsResidual`).
    public let residualActivation: Activation

    public init(weights: Tensor, bias: [Float]?, strides: (Int, Int) = (1, 1), pads: [Int] = [0, 0, 0, 0],
                dilations: (Int, Int) = (1, 1), groups: Int = 1, activation: Activation = .none,
                addsResidual: Bool = false, residualActivation: Activation = .none) {
        precondition(addsResidual || residualActivation == .none)
        precondition(weights.rank == 4 && pads.count == 4)
        weightsShape = weights.shape
        storedWeights = weights
        self.bias = bias ?? [Float](repeating: 0, count: weights.shape[0])
        self.strides = strides
        self.pads = pads
        self.dilations = dilations
        self.groups = groups
        self.activation = activation
        self.addsResidual = addsResidual
        self.residualActivation = residualActivation
    }

    /// The float32 weights. A network on the oneDNN backend may release them once it has its own copies
    /// in oneDNN's layouts (`Network.releasingGraphWeights()`: 560 MB for MDv5a); its graph is then
    /// never run on the reference implementation nor prepared again (`Network` refuses to), so reading
    /// them after that is a programming error.
    public var weights: Tensor {
        guard let storedWeights else { preconditionFailure("Conv weights read after Network.releasingGraphWeights()") }
        return storedWeights
    }

    /// False once the float32 weights were released (see `weights`).
    public var holdsWeights: Bool { storedWeights != nil }

    public var outChannels: Int { weightsShape[0] }
    public var inChannels: Int { weightsShape[1] * groups }
    public var kernel: (height: Int, width: Int) { (weightsShape[2], weightsShape[3]) }
    /// Number of weights (the shape's product; known after they are released too).
    public var weightCount: Int { weightsShape.reduce(1, *) }

    private init(copying conv: Conv, weights: Tensor?, activation: Activation, addsResidual: Bool, residualActivation: Activation) {
        precondition(addsResidual || residualActivation == .none)
        weightsShape = conv.weightsShape
        storedWeights = weights
        bias = conv.bias
        strides = conv.strides
        pads = conv.pads
        dilations = conv.dilations
        groups = conv.groups
        self.activation = activation
        self.addsResidual = addsResidual
        self.residualActivation = residualActivation
    }

    /// The same convolution with another epilogue (used by graph fusion).
    public func with(activation: Activation? = nil, addsResidual: Bool? = nil, residualActivation: Activation? = nil) -> Conv {
        Conv(copying: self, weights: storedWeights, activation: activation ?? self.activation,
             addsResidual: addsResidual ?? self.addsResidual, residualActivation: residualActivation ?? self.residualActivation)
    }

    /// The same convolution without its float32 weights (see `weights`).
    func releasingWeights() -> Conv {
        Conv(copying: self, weights: nil, activation: activation, addsResidual: addsResidual, residualActivation: residualActivation)
    }

    public func outputSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let effectiveH = (kernel.height - 1) * dilations.height + 1
        let effectiveW = (kernel.width - 1) * dilations.width + 1
        return ((height + pads[0] + pads[2] - effectiveH) / strides.height + 1,
                (width + pads[1] + pads[3] - effectiveW) / strides.width + 1)
    }

    public func outputShapes(for inputShapes: [[Int]], node: String) throws -> [[Int]] {
        try requireInputCount(inputShapes, addsResidual ? 2 : 1, node: node)
        let x = inputShapes[0]
        try requireRank(x, 4, node: node)
        guard x[1] == inChannels else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "\(inChannels) channels", actual: x)
        }
        guard bias.count == outChannels, outChannels % groups == 0 else {
            throw EngineError.invalidGraph("Conv \(node): bias or groups do not fit \(outChannels) output channels")
        }
        let size = outputSize(height: x[2], width: x[3])
        guard size.height > 0, size.width > 0 else {
            throw EngineError.shapeMismatch(tensor: "\(node) input", expected: "at least the kernel size", actual: x)
        }
        let output = [x[0], outChannels, size.height, size.width]
        if addsResidual, inputShapes[1] != output {
            throw EngineError.shapeMismatch(tensor: "\(node) residual", expected: "\(output)", actual: inputShapes[1])
        }
        return [output]
    }

    public func reference(_ inputs: [Tensor]) -> [Tensor] {
        let x = inputs[0]
        let (batch, height, width) = (x.shape[0], x.shape[2], x.shape[3])
        let out = outputSize(height: height, width: width)
        let (kh, kw) = kernel
        let inPerGroup = inChannels / groups, outPerGroup = outChannels / groups
        var result = [Float](repeating: 0, count: batch * outChannels * out.height * out.width)
        x.values.withUnsafeBufferPointer { input in
            weights.values.withUnsafeBufferPointer { w in
                for n in 0..<batch {
                    for o in 0..<outChannels {
                        let group = o / outPerGroup
                        for oy in 0..<out.height {
                            for ox in 0..<out.width {
                                var sum: Float = 0
                                for ci in 0..<inPerGroup {
                                    let c = group * inPerGroup + ci
                                    for ky in 0..<kh {
                                        let iy = oy * strides.height - pads[0] + ky * dilations.height
                                        if iy < 0 || iy >= height { continue }
                                        for kx in 0..<kw {
                                            let ix = ox * strides.width - pads[1] + kx * dilations.width
                                            if ix < 0 || ix >= width { continue }
                                            sum += input[((n * inChannels + c) * height + iy) * width + ix]
                                                * w[((o * inPerGroup + ci) * kh + ky) * kw + kx]
                                        }
                                    }
                                }
                                let index = ((n * outChannels + o) * out.height + oy) * out.width + ox
                                var value = activation.apply(sum + bias[o])
                                if addsResidual { value = residualActivation.apply(value + inputs[1].values[index]) }
                                result[index] = value
                            }
                        }
                    }
                }
            }
        }
        return [Tensor(shape: [batch, outChannels, out.height, out.width], values: result)]
    }
}
