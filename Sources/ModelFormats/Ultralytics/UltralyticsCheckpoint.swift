import Engine
import Foundation

/// Opens a checkpoint saved by the `ultralytics` package (YOLOv8, YOLOv9, YOLO11: MDv1000-larch and
/// -sorrel, MDv6), or by the yolov9 repository (MDv1000-cedar: the same blocks under `models.common`,
/// a DDetect head), without executing anything, and builds the engine network from its module tree. Released
/// files hold the model in float16 under `model` (ultralytics' `strip_optimizer`), plus `train_args`;
/// MegaDetector's adds `megadetector_info.json` with `model_type: ultralytics` and the image size.
public enum UltralyticsCheckpoint {
    static func load(checkpoint: TorchCheckpoint, model: PickleObject, path: String, backend: ExecutionBackend,
                     start: Date, family: PickledDetectionModel.Family = .ultralytics) throws -> LoadedModel {
        var builder = UltralyticsGraphBuilder(checkpoint: checkpoint)
        let result = try builder.build(model: model)
        let detect = result.detect
        // As the reference: the metadata's image size, else 1280 (its default for every .pt).
        var inputSize = 1280
        var metadataSize: Int?
        let library = family == .yolov9 ? "yolov9 repository layout" : "ultralytics"
        var architecture = "\(generation(result.layerTypes)) (\(library), anchor-free, \(detect.strides.count) detection levels, \(result.layerTypes.count) layers"
        if result.layerTypes.last == "DualDDetect" { architecture += ", DualDDetect: the first head, as the reference reads it" }
        if detect.corners { architecture += ", end-to-end one-to-one head (no NMS)" }
        if let file = model["yaml"]?.dictionary?["yaml_file"]?.string { architecture += ", from \(file)" }
        architecture += ")"
        if let info = try PickledDetectionModel.megadetectorInfo(checkpoint) {
            if let size = info["image_size"] as? Int { inputSize = size; metadataSize = size }
            if let type = info["model_type"] as? String { architecture += ", model_type \(type)" }
        }
        let maximumStride = Int(detect.strides.max() ?? 32)
        let planning = [1, 3, max(inputSize * 3 / 4 / maximumStride, 1) * maximumStride, inputSize]
        checkpoint.archive.file.releaseResidentPages()
        let network = try Network(graph: result.graph, backend: backend,
                                  planningInputShapes: [UltralyticsGraphBuilder.inputName: planning])
        let names = PickledDetectionModel.classNames(model["names"], count: detect.classCount)
        let info = ModelInfo(
            path: path, format: "PyTorch checkpoint (\(library); zip + pickle, loaded without executing code)",
            architecture: architecture, parameterCount: network.parameterCount, classNames: names,
            strides: detect.strides, anchorsInPixels: [], defaultInputSize: inputSize,
            storagePrecision: result.storageTypes.sorted().map(PickledDetectionModel.storageName).joined(separator: ", "),
            layerCount: result.layerTypes.count, outputKind: detect.corners ? .endToEnd : .anchorFree, inputName: UltralyticsGraphBuilder.inputName,
            outputName: UltralyticsGraphBuilder.outputName, inputShape: [1, 3, -1, -1],
            loadSeconds: Date().timeIntervalSince(start))
        var loaded = LoadedModel(network: network, info: info)
        loaded.info.metadataImageSize = metadataSize
        loaded.info.modelType = family == .yolov9 ? .yolov9 : .ultralytics
        return loaded
    }

    /// The generation, from the blocks the layer list uses.
    private static func generation(_ layerTypes: [String]) -> String {
        if layerTypes.contains("C3k2") || layerTypes.contains("C2PSA") { return "YOLO11" }
        if layerTypes.contains("SCDown") || layerTypes.contains("C2fCIB") || layerTypes.contains("v10Detect") { return "YOLOv10" }
        if layerTypes.contains("RepNCSPELAN4") || layerTypes.contains("ELAN1") { return "YOLOv9" }
        if layerTypes.contains("C2f") { return "YOLOv8" }
        return "YOLO"
    }
}
