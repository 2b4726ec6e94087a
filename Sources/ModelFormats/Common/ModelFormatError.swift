/// Why a model file could not be opened. Every case names the problem in terms a user can act on.
public enum ModelFormatError: Error, Equatable, CustomStringConvertible {
    case fileNotFound(path: String)
    case unreadable(path: String, reason: String)
    case corruptArchive(reason: String)
    case unsupportedArchive(reason: String)
    case malformedPickle(offset: Int, reason: String)
    case disallowedPickleGlobal(module: String, name: String)
    case unsupportedPickleOpcode(opcode: UInt8, offset: Int)
    case notACheckpoint(reason: String)
    case unknownArchitecture(String)
    case unsupportedModule(type: String, layer: Int)
    case malformedTensor(name: String, reason: String)
    case shapeMismatch(tensor: String, expected: [Int], actual: [Int])
    case malformedProtobuf(offset: Int, reason: String)
    case unsupportedOperator(name: String, opset: Int, node: String)
    case malformedONNX(String)
    case unknownFormat(path: String)
    case malformedGraph(String)
    case unexpectedGraph(String)
    case unsupportedTensorFlowOps([String])
    case tensorFlowGraphNotRunnable(String)

    public var description: String {
        switch self {
        case let .fileNotFound(path): return "model file not found: \(path)"
        case let .unreadable(path, reason): return "cannot read \(path): \(reason)"
        case let .corruptArchive(reason): return "corrupt model archive (zip): \(reason)"
        case let .unsupportedArchive(reason): return "unsupported zip archive: \(reason)"
        case let .malformedPickle(offset, reason): return "malformed pickle at byte \(offset): \(reason)"
        case let .disallowedPickleGlobal(module, name):
            return "refused to load: the pickle references '\(module).\(name)', which is not an allowed model class or data type (nothing was executed)"
        case let .unsupportedPickleOpcode(opcode, offset):
            return "unsupported pickle opcode 0x\(String(opcode, radix: 16)) at byte \(offset)"
        case let .notACheckpoint(reason): return "not a YOLOv5 checkpoint: \(reason)"
        case let .unknownArchitecture(what): return "unknown model architecture: \(what)"
        case let .unsupportedModule(type, layer): return "unsupported module \(type) in layer \(layer)"
        case let .malformedTensor(name, reason): return "malformed tensor \(name): \(reason)"
        case let .shapeMismatch(tensor, expected, actual):
            return "shape mismatch for \(tensor): expected \(expected), found \(actual)"
        case let .malformedProtobuf(offset, reason): return "malformed ONNX protobuf at byte \(offset): \(reason)"
        case let .unsupportedOperator(name, opset, node):
            return "unsupported ONNX operator \(name) (opset \(opset)) in node \(node)"
        case let .malformedONNX(reason): return "malformed ONNX model: \(reason)"
        case let .unknownFormat(path): return "unrecognised model format: \(path) (expected a PyTorch .pt, an ONNX .onnx or a TensorFlow .pb file)"
        case let .malformedGraph(reason): return "malformed TensorFlow graph: \(reason)"
        case let .unexpectedGraph(reason):
            return "not a MegaDetector v2-v4 graph (TF Object Detection API Faster R-CNN export): \(reason)"
        case let .unsupportedTensorFlowOps(ops): return "unsupported TensorFlow ops: \(ops.joined(separator: ", "))"
        case let .tensorFlowGraphNotRunnable(what): return what
        }
    }
}
