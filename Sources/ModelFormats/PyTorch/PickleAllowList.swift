/// The globals a MegaDetector checkpoint (YOLOv5, or ultralytics: YOLOv8, YOLOv9, YOLO11) or a SpeciesNet
/// classifier (an onnx2torch `torch.fx.GraphModule`) may name, and what each one builds.
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
    /// The module classes onnx2torch writes for the ONNX operators of SpeciesNet's EfficientNetV2 graph.
    private static let onnx2torchClasses: [String: Set<String>] = [
        "onnx2torch.node_converters.transpose": ["OnnxTranspose"],
        "onnx2torch.node_converters.pad": ["OnnxPadStatic", "OnnxPadDynamic"],
        "onnx2torch.node_converters.binary_math_operations": ["OnnxBinaryMathOperation"],
        "onnx2torch.node_converters.global_average_pool": ["OnnxGlobalAveragePool", "OnnxGlobalAveragePoolWithKnownInputShape"],
        "onnx2torch.node_converters.squeeze": ["OnnxSqueezeDynamicAxes", "OnnxSqueezeStaticAxes", "OnnxSqueezeStaticAxesOld"],
        "onnx2torch.node_converters.reshape": ["OnnxReshape"],
        "onnx2torch.node_converters.matmul": ["OnnxMatMul"],
    ]
    /// Functions a GraphModule's modules hold as data (never called): the arithmetic of a binary op.
    /// `torch.add` and friends arrive as `getattr(torch._C._VariableFunctionsClass, "add")`.
    private static let arithmeticFunctions: Set<String> = ["add", "sub", "mul", "div"]
    private static let functionReferences: Set<String> = [
        "torch._C._VariableFunctionsClass", "onnx2torch.node_converters.binary_math_operations._onnx_div",
    ]
    private static let torchModules: [String: Set<String>] = [
        "torch.nn.modules.conv": ["Conv2d"],
        "torch.nn.modules.batchnorm": ["BatchNorm2d"],
        "torch.nn.modules.activation": ["SiLU", "ReLU", "LeakyReLU", "Hardswish", "Sigmoid", "Softmax"],
        "torch.nn.modules.module": ["Module"],
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
        "copyreg._reconstructor", "torch.fx.graph_module.reduce_graph_module", "__builtin__.getattr", "builtins.getattr",
    ]
    private static let torchDataTypes: Set<String> = ["float16", "float32", "float64", "bfloat16", "int64", "int32",
                                                      "uint8", "int8", "bool", "half", "float", "double", "long"]

    /// Returns the global when it is allowed; throws `disallowedPickleGlobal` otherwise.
    static func check(module: String, name: String) throws -> PickleGlobal {
        let global = PickleGlobal(module: module, name: name)
        let full = global.description
        if dataFunctions.contains(full) || dataClasses.contains(full) || functionReferences.contains(full) || isModuleClass(global) {
            return global
        }
        if module == "torch", storageNames.contains(name) || torchDataTypes.contains(name) { return global }
        if module == "torch.storage", name == "UntypedStorage" || name == "TypedStorage" { return global }
        throw ModelFormatError.disallowedPickleGlobal(module: module, name: name)
    }

    static func isModuleClass(_ global: PickleGlobal) -> Bool {
        if torchModules[global.module]?.contains(global.name) == true { return true }
        if ultralyticsClasses[global.module]?.contains(global.name) == true { return true }
        if onnx2torchClasses[global.module]?.contains(global.name) == true { return true }
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
        case "torch.fx.graph_module.reduce_graph_module":
            // (body, import_block): the module's state and the Python import lines PyTorch would exec
            // before its generated code. Kept as data; `FXGraphCode` parses the code, nothing is run.
            guard arguments.count >= 1, case .dict = arguments[0] else { throw bad("expected (body dict, import block)") }
            let object = PickleObject(type: callable, arguments: Array(arguments.dropFirst()))
            object.state = arguments[0]
            return .object(object)
        case "__builtin__.getattr", "builtins.getattr":
            // Only `getattr(torch._C._VariableFunctionsClass, "add"|"sub"|"mul"|"div")`: a reference to
            // the arithmetic function, as data.
            guard arguments.count == 2, case let .global(owner) = arguments[0], owner.description == "torch._C._VariableFunctionsClass",
                  let name = arguments[1].string, arithmeticFunctions.contains(name) else {
                throw bad("only torch's add/sub/mul/div may be looked up, not \(arguments.map { "\($0)" })")
            }
            return .global(PickleGlobal(module: "torch", name: name))
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
