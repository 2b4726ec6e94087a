import Engine
import Foundation

/// Opens a YOLOv5 checkpoint as MegaDetector ships it (a `torch.save`d dict whose `model` is the whole
/// DetectionModel, usually float16) and builds the engine network from it.
public enum YOLOv5Checkpoint {
    public static func load(path: String, backend: ExecutionBackend) throws -> LoadedModel {
        let start = Date()
        let checkpoint = try TorchCheckpoint(path: path)
        let model = try PickledDetectionModel.object(in: checkpoint.root)
        guard try PickledDetectionModel.family(of: model) == .yolov5 else {
            throw ModelFormatError.unknownArchitecture("\(model.type) is not a YOLOv5 DetectionModel")
        }
        return try load(checkpoint: checkpoint, model: model, path: path, backend: backend, start: start)
    }

    static func load(checkpoint: TorchCheckpoint, model: PickleObject, path: String, backend: ExecutionBackend,
                     start: Date) throws -> LoadedModel {
        var builder = YOLOv5GraphBuilder(checkpoint: checkpoint)
        let result = try builder.build(model: model)
        let detect = result.detect
        let levels = detect.strides.count
        // The reference uses the file's metadata size, else 1280 (it assumes MDv5 without metadata).
        var inputSize = 1280
        var metadataSize: Int?
        var architecture = "YOLOv5 \(levels >= 4 ? "P6" : "P5") (\(levels) detection levels, \(result.layerTypes.count) layers)"
        if let info = try PickledDetectionModel.megadetectorInfo(checkpoint) {
            if let size = info["image_size"] as? Int { inputSize = size; metadataSize = size }
            if let type = info["model_type"] as? String { architecture += ", model_type \(type)" }
        }
        let maximumStride = Int(detect.strides.max() ?? 32)
        // A 4:3 photo letterboxed to the default size: representative for choosing weight layouts.
        let planning = [1, 3, inputSize * 3 / 4 / maximumStride * maximumStride, inputSize]
        checkpoint.archive.file.releaseResidentPages()
        let network = try Network(graph: result.graph, backend: backend,
                                  planningInputShapes: [YOLOv5GraphBuilder.inputName: planning])
        let names = PickledDetectionModel.classNames(model["names"], count: detect.classCount)
        let info = ModelInfo(
            path: path, format: "PyTorch checkpoint (zip + pickle, loaded without executing code)",
            architecture: architecture, parameterCount: network.parameterCount, classNames: names,
            strides: detect.strides, anchorsInPixels: detect.anchorsInPixels, defaultInputSize: inputSize,
            storagePrecision: result.storageTypes.sorted().map(PickledDetectionModel.storageName).joined(separator: ", "),
            layerCount: result.layerTypes.count, outputKind: .yolov5Decoded, inputName: YOLOv5GraphBuilder.inputName,
            outputName: YOLOv5GraphBuilder.outputName, inputShape: [1, 3, -1, -1],
            loadSeconds: Date().timeIntervalSince(start))
        var loaded = LoadedModel(network: network, info: info)
        loaded.info.metadataImageSize = metadataSize
        return loaded
    }
}
