import Engine
import Foundation

/// Opens a YOLOv5 checkpoint as MegaDetector ships it (a `torch.save`d dict whose `model` is the whole
/// DetectionModel, usually float16) and builds the engine network from it.
public enum YOLOv5Checkpoint {
    public static func load(path: String, backend: ExecutionBackend) throws -> LoadedModel {
        let start = Date()
        let checkpoint = try TorchCheckpoint(path: path)
        let model = try detectionModel(in: checkpoint.root)
        var builder = YOLOv5GraphBuilder(checkpoint: checkpoint)
        let result = try builder.build(model: model)
        let detect = result.detect
        let levels = detect.strides.count
        // The reference uses the file's metadata size, else 1280 (it assumes MDv5 without metadata).
        var inputSize = 1280
        var metadataSize: Int?
        var architecture = "YOLOv5 \(levels >= 4 ? "P6" : "P5") (\(levels) detection levels, \(result.layerTypes.count) layers)"
        if let info = try megadetectorInfo(checkpoint) {
            if let size = info["image_size"] as? Int { inputSize = size; metadataSize = size }
            if let type = info["model_type"] as? String { architecture += ", model_type \(type)" }
        }
        let maximumStride = Int(detect.strides.max() ?? 32)
        // A 4:3 photo letterboxed to the default size: representative for choosing weight layouts.
        let planning = [1, 3, inputSize * 3 / 4 / maximumStride * maximumStride, inputSize]
        let network = try Network(graph: result.graph, backend: backend,
                                  planningInputShapes: [YOLOv5GraphBuilder.inputName: planning])
        let names = classNames(model["names"], count: detect.classCount)
        let info = ModelInfo(
            path: path, format: "PyTorch checkpoint (zip + pickle, loaded without executing code)",
            architecture: architecture, parameterCount: network.parameterCount, classNames: names,
            strides: detect.strides, anchorsInPixels: detect.anchorsInPixels, defaultInputSize: inputSize,
            storagePrecision: result.storageTypes.sorted().map(storageName).joined(separator: ", "),
            layerCount: result.layerTypes.count, outputKind: .yolov5Decoded, inputName: YOLOv5GraphBuilder.inputName,
            outputName: YOLOv5GraphBuilder.outputName, inputShape: [1, 3, -1, -1],
            loadSeconds: Date().timeIntervalSince(start))
        var loaded = LoadedModel(network: network, info: info)
        loaded.info.metadataImageSize = metadataSize
        return loaded
    }

    /// The DetectionModel object: `checkpoint['model']`, else `['ema']`, else the root itself.
    static func detectionModel(in root: PickleValue) throws -> PickleObject {
        if let object = root.object { return try requireDetectionModel(object) }
        guard let dictionary = root.dictionary else {
            throw ModelFormatError.notACheckpoint(reason: "the pickle holds neither a dict nor a model object")
        }
        for key in ["model", "ema"] {
            if let object = dictionary[key]?.object { return try requireDetectionModel(object) }
        }
        let keys = dictionary.stringKeys.prefix(6).joined(separator: ", ")
        if dictionary.entries.contains(where: { $0.value.tensor != nil }) {
            throw ModelFormatError.notACheckpoint(reason: "the file holds bare weights (a state dict with keys \(keys)...), not a pickled YOLOv5 model")
        }
        throw ModelFormatError.notACheckpoint(reason: "no 'model' entry (keys: \(keys))")
    }

    private static func requireDetectionModel(_ object: PickleObject) throws -> PickleObject {
        guard ["DetectionModel", "Model"].contains(object.type.name), object.type.module.hasSuffix("yolo") else {
            throw ModelFormatError.unknownArchitecture("\(object.type) is not a YOLOv5 DetectionModel")
        }
        return object
    }

    private static func classNames(_ value: PickleValue?, count: Int) -> [String] {
        var names = (0..<count).map { "class \($0)" }
        if let items = value?.items {
            for (index, item) in items.enumerated() where index < count { names[index] = item.string ?? names[index] }
        } else if let dictionary = value?.dictionary {
            for entry in dictionary.entries {
                if let index = entry.key.int, index >= 0, index < count, let name = entry.value.string { names[index] = name }
            }
        }
        return names
    }

    /// The reference's `megadetector_info.json` (model type, image size), usually appended deflated.
    /// A damaged or non-JSON entry is refused, as the reference's json.load would fail on it: reading
    /// past it would silently change the image size and so the detections.
    private static func megadetectorInfo(_ checkpoint: TorchCheckpoint) throws -> [String: Any]? {
        guard let entry = checkpoint.archive.entry(endingWith: "megadetector_info.json") else { return nil }
        let bytes = try checkpoint.archive.contents(entry, maximumSize: 1 << 20)
        guard let info = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw ModelFormatError.unsupportedArchive(reason: "\(entry.name) is not a JSON object")
        }
        return info
    }

    private static func storageName(_ raw: String) -> String {
        StorageType(rawValue: raw).map { "\($0)" } ?? raw
    }
}
