import Foundation

/// The smallest and largest value each convolution source reached over a calibration set: the int8
/// quantization of a source spans that range (with 0 always inside it). The extremes (not percentiles)
/// keep every calibrated value representable and make the result independent of the order in which
/// photos were seen.
public struct ActivationRanges: Sendable, Equatable, Codable {
    /// Value name (as in the graph) -> [min, max].
    public var bounds: [String: ClosedRange<Float>]
    /// Value name -> sum of squares and count of the values seen: their RMS, against the quantization
    /// step the range gives, says how much of the signal int8 keeps (`signalToNoise`).
    public var squares: [String: SumOfSquares]

    public struct SumOfSquares: Sendable, Equatable, Codable {
        public var sum: Double
        public var count: Double
        public var rms: Double { count > 0 ? (sum / count).squareRoot() : 0 }

        public init(sum: Double, count: Double) {
            self.sum = sum
            self.count = count
        }
    }

    public init(bounds: [String: ClosedRange<Float>] = [:], squares: [String: SumOfSquares] = [:]) {
        self.bounds = bounds
        self.squares = squares
    }

    /// The union of two calibrations, value by value.
    public mutating func merge(_ other: ActivationRanges) {
        bounds.merge(other.bounds) { Swift.min($0.lowerBound, $1.lowerBound)...Swift.max($0.upperBound, $1.upperBound) }
        squares.merge(other.squares) { SumOfSquares(sum: $0.sum + $1.sum, count: $0.count + $1.count) }
    }

    /// Signal-to-noise ratio in dB of a source quantized uniformly with `levels` steps over its range:
    /// RMS of the values against the RMS of the rounding error (step / sqrt(12)). nil without data.
    public func signalToNoise(_ name: String, levels: Int) -> Double? {
        guard let range = bounds[name], let rms = squares[name]?.rms, rms > 0 else { return nil }
        let span = Double(Swift.max(range.upperBound, 0) - Swift.min(range.lowerBound, 0))
        guard span > 0 else { return nil }
        let noise = span / Double(levels - 1) / 12.0.squareRoot()
        return 20 * log10(rms / noise)
    }

    /// Runs `network` (float32) on `inputs` and measures the sources of its convolutions. A source
    /// holding NaN or infinity gets no range (its convolution then stays float32).
    public static func measure(_ network: Network, inputs: [String: Tensor]) throws -> ActivationRanges {
        let sources = Set(network.graph.nodes.compactMap { $0.operation is Conv ? $0.inputs.first : nil })
        var bounds: [String: ClosedRange<Float>] = [:]
        var squares: [String: SumOfSquares] = [:]
        var unusable: Set<String> = []
        _ = try ExecutionContext(network: network).run(inputs, inspect: { name, values in
            guard sources.contains(name) else { return }
            var low = Float.infinity, high = -Float.infinity
            var sum: Double = 0
            for value in values {
                low = Swift.min(low, value)
                high = Swift.max(high, value)
                sum += Double(value * value)
            }
            let previous = squares[name] ?? SumOfSquares(sum: 0, count: 0)
            squares[name] = SumOfSquares(sum: previous.sum + sum, count: previous.count + Double(values.count))
            guard low.isFinite, high.isFinite, !values.contains(where: \.isNaN) else { unusable.insert(name); return }
            bounds[name] = bounds[name].map { Swift.min($0.lowerBound, low)...Swift.max($0.upperBound, high) } ?? low...high
        })
        for name in unusable { bounds[name] = nil; squares[name] = nil }
        return ActivationRanges(bounds: bounds, squares: squares)
    }
}
