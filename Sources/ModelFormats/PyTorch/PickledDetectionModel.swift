import Foundation

/// The detection model object inside a `torch.save`d checkpoint, and what the file says about it. Both
/// YOLO families MegaDetector ships pickle the whole model: YOLOv5 (`models.yolo.DetectionModel`) and
/// ultralytics (`ultralytics.nn.tasks.DetectionModel`: YOLOv8, YOLOv9, YOLO11), and WongKinYiu's YOLOv9
/// (`models.yolo.DetectionModel` with a DDetect head).
enum PickledDetectionModel {
    enum Family {
        case yolov5, ultralytics
        /// WongKinYiu's YOLOv9 (yolov9pip; MDv1000-cedar): `models.yolo.DetectionModel` ending in an
        /// anchor-free `DDetect` / `DualDDetect` head.
        case yolov9
    }

    /// `checkpoint['model']`, else `['ema']`, else the root itself when it is a model object.
    static func object(in root: PickleValue) throws -> PickleObject {
        if let object = root.object { return object }
        guard let dictionary = root.dictionary else {
            throw ModelFormatError.notACheckpoint(reason: "the pickle holds neither a dict nor a model object")
        }
        for key in ["model", "ema"] {
            if let object = dictionary[key]?.object { return object }
        }
        let keys = dictionary.stringKeys.prefix(6).joined(separator: ", ")
        if dictionary.entries.contains(where: { $0.value.tensor != nil }) {
            throw ModelFormatError.notACheckpoint(reason: "the file holds bare weights (a state dict with keys \(keys)...), not a pickled YOLOv5 model")
        }
        throw ModelFormatError.notACheckpoint(reason: "no 'model' entry (keys: \(keys))")
    }

    static func family(of object: PickleObject) throws -> Family {
        switch (object.type.module, object.type.name) {
        case ("ultralytics.nn.tasks", "DetectionModel"): return .ultralytics
        case let (module, name) where ["DetectionModel", "Model"].contains(name) && module.hasSuffix("yolo"):
            let head = object.module("model")?.modules.last?.object?.type.name
            return ["DDetect", "DualDDetect"].contains(head ?? "") ? .yolov9 : .yolov5
        default: throw ModelFormatError.unknownArchitecture("\(object.type) is not a YOLOv5 or ultralytics DetectionModel")
        }
    }

    /// The model's `names` (a list or an index -> name dict), filled up to `count` with "class i".
    static func classNames(_ value: PickleValue?, count: Int) -> [String] {
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
    static func megadetectorInfo(_ checkpoint: TorchCheckpoint) throws -> [String: Any]? {
        guard let entry = checkpoint.archive.entry(endingWith: "megadetector_info.json") else { return nil }
        let bytes = try checkpoint.archive.contents(entry, maximumSize: 1 << 20)
        guard let info = (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] else {
            throw ModelFormatError.unsupportedArchive(reason: "\(entry.name) is not a JSON object")
        }
        return info
    }

    static func storageName(_ raw: String) -> String {
        StorageType(rawValue: raw).map { "\($0)" } ?? raw
    }
}
