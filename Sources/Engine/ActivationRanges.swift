import Foundation

/// The largest magnitude each convolution source reached over a calibration set: the int8 scale of a
/// source is 127 / its range. The maximum (not a percentile) keeps every calibrated value
/// representable and makes the result independent of the order in which photos were seen.
public struct ActivationRanges: Sendable, Equatable, Codable {
    /// Value name (as in the graph) -> max |x|.
    public var maxAbs: [String: Float]

    public init(maxAbs: [String: Float] = [:]) {
        self.maxAbs = maxAbs
    }

    /// The element-wise maximum of two calibrations.
    public mutating func merge(_ other: ActivationRanges) {
        maxAbs.merge(other.maxAbs) { Swift.max($0, $1) }
    }

    /// Runs `network` (float32) on `inputs` and measures the sources of its convolutions.
    public static func measure(_ network: Network, inputs: [String: Tensor]) throws -> ActivationRanges {
        let sources = Set(network.graph.nodes.compactMap { $0.operation is Conv ? $0.inputs.first : nil })
        var ranges: [String: Float] = [:]
        _ = try ExecutionContext(network: network).run(inputs, inspect: { name, values in
            guard sources.contains(name) else { return }
            var largest: Float = 0
            for value in values { largest = Swift.max(largest, abs(value)) }
            ranges[name] = Swift.max(ranges[name] ?? 0, largest)
        })
        return ActivationRanges(maxAbs: ranges)
    }
}
