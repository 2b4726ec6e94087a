/// Errors raised while building or running a graph. Each case names the tensor or node concerned.
public enum EngineError: Error, Equatable, CustomStringConvertible {
    case shapeMismatch(tensor: String, expected: String, actual: [Int])
    case invalidGraph(String)
    case missingInput(name: String)
    case backendFailure(node: String, message: String)
    case unsupported(node: String, reason: String)
    /// A precision this machine or build cannot run fast; the reason says why and what to use instead.
    case unsupportedPrecision(String)

    public var description: String {
        switch self {
        case let .shapeMismatch(tensor, expected, actual):
            return "shape mismatch for \(tensor): expected \(expected), got \(actual)"
        case let .invalidGraph(message):
            return "invalid graph: \(message)"
        case let .missingInput(name):
            return "missing graph input '\(name)'"
        case let .backendFailure(node, message):
            return "node \(node): \(message)"
        case let .unsupported(node, reason):
            return "node \(node): \(reason)"
        case let .unsupportedPrecision(reason):
            return reason
        }
    }
}
