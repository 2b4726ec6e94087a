/// The globals a MegaDetector checkpoint (YOLOv5, or ultralytics: YOLOv8, YOLOv9, YOLO11) may name, and what
/// each one builds.
///
/// Classes are instantiated as inert `PickleObject` records; "functions" are interpreted by us as the
/// data constructors they are (tensor rebuild, OrderedDict, set, numpy reconstruction). Nothing named
/// in a file is ever imported or called. Everything not listed is refused by name.
enum PickleAllowList {
    private static let yoloPrefixes = ["models.", "yolov5.models.", "yolov9.models."]
    private static let yoloClasses: [String: Set<String>] = [
        "common": ["Conv", "C3", "Bottleneck", "SPPF", "SPP", "Concat", "Focus", "BottleneckCSP", "DWConv", "AutoShape",
                   // YOLOv9 (WongKinYiu / yolov9pip, MDv1000-cedar), whose classes live under the same names.
                   "RepNCSPELAN4", "RepNCSP", "RepNBottleneck", "RepConvN", "ADown", "AConv", "SPPELAN", "SP", "CBLinear",
                   "CBFuse", "Silence", "DFL"],
        "yolo": ["Detect", "DetectionModel", "Model", "DDetect", "DualDDetect"],
    ]
    /// The module classes an ultralytics detection checkpoint names (MDv1000-larch/sorrel, MDv6).
    private static let ultralyticsClasses: [String: Set<String>] = [
        "ultralytics.nn.tasks": ["DetectionModel"],
        "ultralytics.nn.modules.conv": ["Conv", "DWConv", "Concat", "RepConv"],
        "ultralytics.nn.modules.block": ["C2f", "C3k2", "C3k", "C3", "Bottleneck", "SPPF", "C2PSA", "PSABlock", "Attention", "DFL",
                                         "RepNCSPELAN4", "ELAN1", "RepCSP", "RepBottleneck", "ADown", "AConv", "SPPELAN",
                                         "SCDown", "PSA", "C2fCIB", "CIB", "RepVGGDW", "CBLinear", "CBFuse"],
        "ultralytics.nn.modules.head": ["Detect", "v10Detect"],
    ]
    private static let torchModules: [String: Set<String>] = [
        "torch.nn.modules.conv": ["Conv2d"],
        "torch.nn.modules.batchnorm": ["BatchNorm2d"],
        "torch.nn.modules.activation": ["SiLU", "ReLU", "LeakyReLU", "Hardswish", "Sigmoid"],
        "torch.nn.modules.pooling": ["MaxPool2d"],
        "torch.nn.modules.upsampling": ["Upsample"],
        "torch.nn.modules.container": ["Sequential", "ModuleList"],
        "torch.nn.modules.linear": ["Identity"],
    ]
    /// Plain data classes older checkpoints carry (training options, paths, numpy arrays).
    private static let dataClasses: Set<String> = [
        "argparse.Namespace", "numpy.ndarray", "numpy.dtype", "pathlib.PosixPath", "pathlib.WindowsPath",
        "pathlib.PurePosixPath", "pathlib.PureWindowsPath", "datetime.datetime", "datetime.date", "datetime.timedelta",
        "torch.device", "torch.Size", "ultralytics.utils.IterableSimpleNamespace",
    ]
    private static let storageNames = Set(["HalfStorage", "BFloat16Storage", "FloatStorage", "DoubleStorage",
                                           "LongStorage", "IntStorage", "ShortStorage", "CharStorage", "ByteStorage",
                                           "BoolStorage"])
    private static let dataFunctions: Set<String> = [
        "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor", "torch._utils._rebuild_parameter",
        "torch._utils._rebuild_parameter_with_state", "collections.OrderedDict", "__builtin__.set", "builtins.set",
        "builtins.frozenset", "__builtin__.frozenset", "_codecs.encode", "numpy.core.multiarray._reconstruct",
        "numpy._core.multiarray._reconstruct", "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
        "copyreg._reconstructor",
    ]
    private static let torchDataTypes: Set<String> = ["float16", "float32", "float64", "bfloat16", "int64", "int32",
                                                      "uint8", "int8", "bool", "half", "float", "double", "long"]

    /// Returns the global when it is allowed; throws `disallowedPickleGlobal` otherwise.
    static func check(module: String, name: String) throws -> PickleGlobal {
        let global = PickleGlobal(module: module, name: name)
        let full = global.description
        if dataFunctions.contains(full) || dataClasses.contains(full) || isModuleClass(global) { return global }
        if module == "torch", storageNames.contains(name) || torchDataTypes.contains(name) { return global }
        if module == "torch.storage", name == "UntypedStorage" || name == "TypedStorage" { return global }
        throw ModelFormatError.disallowedPickleGlobal(module: module, name: name)
    }

    static func isModuleClass(_ global: PickleGlobal) -> Bool {
        if torchModules[global.module]?.contains(global.name) == true { return true }
        if ultralyticsClasses[global.module]?.contains(global.name) == true { return true }
        for prefix in yoloPrefixes where global.module.hasPrefix(prefix) {
            let submodule = String(global.module.dropFirst(prefix.count))
            if yoloClasses[submodule]?.contains(global.name) == true { return true }
        }
        return false
    }

    /// NEWOBJ: an inert instance record.
    static func instantiate(_ type: PickleGlobal, arguments: [PickleValue], offset: Int) throws -> PickleValue {
        guard isModuleClass(type) || dataClasses.contains(type.description) else {
            throw ModelFormatError.malformedPickle(offset: offset, reason: "\(type) cannot be instantiated")
        }
        return .object(PickleObject(type: type, arguments: arguments))
    }

    /// REDUCE: the data constructor the callable stands for.
    static func apply(_ callable: PickleGlobal, arguments: [PickleValue], offset: Int) throws -> PickleValue {
        func bad(_ reason: String) -> ModelFormatError {
            .malformedPickle(offset: offset, reason: "\(callable): \(reason)")
        }
        switch callable.description {
        case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor":
            guard arguments.count >= 4, case let .storage(storage) = arguments[0], let storageOffset = arguments[1].int,
                  let shape = arguments[2].ints ?? (arguments[2].items?.isEmpty == true ? [] : nil),
                  let strides = arguments[3].ints ?? (arguments[3].items?.isEmpty == true ? [] : nil),
                  shape.count == strides.count else {
                throw bad("expected (storage, offset, size, stride, ...)")
            }
            return .tensor(TensorReference(storage: storage, offset: storageOffset, shape: shape, strides: strides))
        case "torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state":
            guard let first = arguments.first, case .tensor = first else { throw bad("expected a tensor") }
            return first
        case "collections.OrderedDict":
            let dictionary = PickleDictionary()
            for pair in arguments.first?.items ?? [] {
                guard let items = pair.items, items.count == 2 else { throw bad("expected key/value pairs") }
                dictionary.set(items[0], items[1])
            }
            return .dict(dictionary)
        case "__builtin__.set", "builtins.set", "builtins.frozenset", "__builtin__.frozenset":
            return .set(arguments.first?.items ?? [])
        case "_codecs.encode":
            // Python 2 byte strings pickled by Python 3: (text, "latin1"). Latin-1 maps code points 1:1.
            guard let text = arguments.first?.string else { throw bad("expected text") }
            return .bytes(text.unicodeScalars.map { UInt8(truncatingIfNeeded: $0.value) })
        case "copyreg._reconstructor":
            guard case let .global(type)? = arguments.first else { throw bad("expected a class") }
            return try instantiate(type, arguments: [], offset: offset)
        case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct":
            return .object(PickleObject(type: PickleGlobal(module: "numpy", name: "ndarray"), arguments: []))
        case "numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar":
            return .tuple(arguments)
        default:
            // Data classes called directly (pathlib.PosixPath("a", "b"), numpy.dtype("f8", ...)).
            if dataClasses.contains(callable.description) || isModuleClass(callable) {
                return .object(PickleObject(type: callable, arguments: arguments))
            }
            throw bad("is not callable here")
        }
    }
}
