/// Plain data rebuilt from a pickle. Nothing here can run code: classes become `PickleObject`s that
/// carry their (allow-listed) class name and state, functions become data records.
public enum PickleValue {
    case none
    case bool(Bool)
    case int(Int)
    /// An integer too wide for `Int` (little-endian two's complement bytes, as pickled).
    case bigInt([UInt8])
    case float(Double)
    case string(String)
    case bytes([UInt8])
    case tuple([PickleValue])
    case list(PickleList)
    case dict(PickleDictionary)
    case set([PickleValue])
    /// A reference to an allow-listed class or function, not yet applied.
    case global(PickleGlobal)
    case object(PickleObject)
    case tensor(TensorReference)
    case storage(StorageReference)

    public var string: String? { if case let .string(value) = self { return value } else { return nil } }
    public var object: PickleObject? { if case let .object(value) = self { return value } else { return nil } }
    public var dictionary: PickleDictionary? { if case let .dict(value) = self { return value } else { return nil } }
    public var tensor: TensorReference? { if case let .tensor(value) = self { return value } else { return nil } }

    public var int: Int? {
        switch self {
        case let .int(value): return value
        case let .bool(value): return value ? 1 : 0
        default: return nil
        }
    }

    public var double: Double? {
        switch self {
        case let .float(value): return value
        case let .int(value): return Double(value)
        default: return nil
        }
    }

    public var bool: Bool? {
        switch self {
        case let .bool(value): return value
        case let .int(value): return value != 0
        default: return nil
        }
    }

    /// Items of a tuple or list.
    public var items: [PickleValue]? {
        switch self {
        case let .tuple(items): return items
        case let .list(list): return list.items
        case let .set(items): return items
        default: return nil
        }
    }

    /// An int, or a tuple/list of ints (PyTorch writes `kernel_size` either way).
    public var ints: [Int]? {
        if let single = int { return [single] }
        guard let items else { return nil }
        let values = items.compactMap(\.int)
        return values.count == items.count ? values : nil
    }
}

/// A module path and name as the pickle spells them (`models.common`, `Conv`).
public struct PickleGlobal: Hashable, Sendable, CustomStringConvertible {
    public let module: String
    public let name: String
    public var description: String { "\(module).\(name)" }
}

/// A pickled list; a class because pickle appends to lists after memoizing them.
public final class PickleList {
    public var items: [PickleValue]
    init(_ items: [PickleValue] = []) { self.items = items }
}

/// A pickled dict (insertion order kept, as Python's).
public final class PickleDictionary {
    public private(set) var entries: [(key: PickleValue, value: PickleValue)] = []

    func set(_ key: PickleValue, _ value: PickleValue) {
        if let index = entries.firstIndex(where: { Self.same($0.key, key) }) {
            entries[index].value = value
        } else {
            entries.append((key, value))
        }
    }

    public subscript(_ key: String) -> PickleValue? {
        entries.first { $0.key.string == key }?.value
    }

    public var stringKeys: [String] { entries.compactMap(\.key.string) }

    private static func same(_ a: PickleValue, _ b: PickleValue) -> Bool {
        switch (a, b) {
        case let (.string(x), .string(y)): return x == y
        case let (.int(x), .int(y)): return x == y
        case let (.bool(x), .bool(y)): return x == y
        case (.none, .none): return true
        default: return false
        }
    }
}

/// An instance of an allow-listed class: its class name, constructor arguments and `__dict__`-like state.
public final class PickleObject {
    public let type: PickleGlobal
    public let arguments: [PickleValue]
    public var state: PickleValue?

    init(type: PickleGlobal, arguments: [PickleValue]) {
        self.type = type
        self.arguments = arguments
    }

    /// A field of the object's state dict (`__dict__`).
    public subscript(_ key: String) -> PickleValue? {
        if case let .dict(dictionary) = state { return dictionary[key] }
        // (state, slotstate) tuples, as some classes pickle.
        if case let .tuple(parts) = state, let first = parts.first, case let .dict(dictionary) = first { return dictionary[key] }
        return nil
    }

    /// Child modules of a `torch.nn.Module`, in registration order.
    public var modules: [(name: String, object: PickleObject?)] {
        guard let dictionary = self["_modules"]?.dictionary else { return [] }
        return dictionary.entries.compactMap { entry in
            guard let name = entry.key.string else { return nil }
            return (name, entry.value.object)
        }
    }

    public func module(_ name: String) -> PickleObject? { modules.first { $0.name == name }?.object }

    /// A parameter or buffer of a `torch.nn.Module`.
    public func tensor(_ name: String) -> TensorReference? {
        self["_parameters"]?.dictionary?[name]?.tensor ?? self["_buffers"]?.dictionary?[name]?.tensor ?? self[name]?.tensor
    }
}

/// Element types PyTorch storages carry.
public enum StorageType: String, Sendable {
    case float16 = "HalfStorage", bfloat16 = "BFloat16Storage", float32 = "FloatStorage", float64 = "DoubleStorage"
    case int64 = "LongStorage", int32 = "IntStorage", int16 = "ShortStorage", int8 = "CharStorage"
    case uint8 = "ByteStorage", bool = "BoolStorage"

    public var byteSize: Int {
        switch self {
        case .float64, .int64: return 8
        case .float32, .int32: return 4
        case .float16, .bfloat16, .int16: return 2
        case .int8, .uint8, .bool: return 1
        }
    }
}

/// A storage named by a persistent id: the zip entry `data/<key>` holding `count` elements.
public struct StorageReference: Sendable {
    public let key: String
    public let type: StorageType
    public let count: Int
}

/// A strided view into a storage (`torch._utils._rebuild_tensor_v2`).
public struct TensorReference: Sendable {
    public let storage: StorageReference
    public let offset: Int
    public let shape: [Int]
    public let strides: [Int]

    public init(storage: StorageReference, offset: Int, shape: [Int], strides: [Int]) {
        self.storage = storage
        self.offset = offset
        self.shape = shape
        self.strides = strides
    }
}
