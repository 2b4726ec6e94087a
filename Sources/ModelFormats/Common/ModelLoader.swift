import Engine
import Foundation

/// Opens any supported model file, choosing the reader from the file's first bytes (not its name).
public enum ModelLoader {
    public static func load(path: String, backend: ExecutionBackend = .oneDNN) throws -> LoadedModel {
        let file = try MappedFile(path: path)
        let bytes = file.bytes
        guard bytes.count >= 4 else {
            throw ModelFormatError.unreadable(path: path, reason: bytes.isEmpty ? "the file is empty" : "the file is too short")
        }
        if bytes[0] == 0x50, bytes[1] == 0x4B {  // "PK": a zip, as torch.save writes
            let start = Date()
            let checkpoint = try TorchCheckpoint(path: path)
            if OnnxTorchGraphModule.isGraphModule(checkpoint) {
                return try GraphModuleClassifier.load(checkpoint: checkpoint, path: path, backend: backend, start: start)
            }
            let model = try PickledDetectionModel.object(in: checkpoint.root)
            switch try PickledDetectionModel.family(of: model) {
            case .yolov5: return try YOLOv5Checkpoint.load(checkpoint: checkpoint, model: model, path: path, backend: backend, start: start)
            case let family:
                return try UltralyticsCheckpoint.load(checkpoint: checkpoint, model: model, path: path, backend: backend, start: start,
                                                      family: family)
            }
        }
        if path.lowercased().hasSuffix(".onnx") || bytes[0] == 0x08 {  // field 1 (ir_version), varint
            return try ONNXModel.load(path: path, backend: backend)
        }
        if path.lowercased().hasSuffix(".pb") {
            let summary = try FasterRCNNGraph.inspect(try TensorFlowGraphFile.open(path))
            throw ModelFormatError.tensorFlowGraphNotRunnable("""
                \(path) is a MegaDetector v2-v4 frozen graph (Faster R-CNN, \(summary.nodeCount) nodes, \(summary.classCount) classes), \
                which runs through `detect`, `render` and the batch service, not as a plain network
                """)
        }
        if path.lowercased().hasSuffix(".pt") || path.lowercased().hasSuffix(".pth") {
            throw ModelFormatError.corruptArchive(reason: "not a zip file (PyTorch checkpoints are zip archives)")
        }
        throw ModelFormatError.unknownFormat(path: path)
    }
}
