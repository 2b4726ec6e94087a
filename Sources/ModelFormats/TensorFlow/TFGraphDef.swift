/// A TensorFlow `GraphDef` (the frozen-graph `.pb` of MegaDetector v2-v4) read in place from a
/// memory map: nodes with their op, inputs and attributes; constant tensors keep a reference to
/// their bytes in the file instead of a copy, so a 240 MB graph costs little memory to open. Field
/// numbers follow tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape}.proto.
public struct TFGraphDef: Sendable {
    public var nodes: [TFNode]
    /// `versions.producer`: the GraphDef version of the TensorFlow that wrote the file.
    public var producer: Int
    /// The map the constant tensors point into (kept alive with the graph).
    public let file: MappedFile

    /// Parses the whole file; a truncated or non-protobuf file fails with the offset where it stops
    /// making sense, and a protobuf that is not a graph (no nodes) is refused.
    public init(file: MappedFile) throws {
        self.file = file
        var nodes: [TFNode] = []
        var producer = 0
        var reader = ProtobufReader(file.bytes)
        while let (field, value) = try reader.next() {
            switch field {
            case 1:
                guard var message = value.message() else { throw TFGraphError.notAGraph(reason: "field 1 is not a node message") }
                nodes.append(try TFNode(&message))
            case 4:
                guard var message = value.message() else { continue }
                while let (versionField, versionValue) = try message.next() {
                    if versionField == 1 { producer = versionValue.int }
                }
            default:
                continue  // the function library and deprecated fields are not needed
            }
        }
        guard !nodes.isEmpty else { throw TFGraphError.notAGraph(reason: "it holds no graph nodes") }
        self.nodes = nodes
        self.producer = producer
    }

    public init(path: String) throws {
        try self.init(file: try MappedFile(path: path))
    }

    /// Nodes by name (a well-formed graph has unique names; a duplicate is refused).
    public func nodesByName() throws -> [String: TFNode] {
        var byName: [String: TFNode] = [:]
        for node in nodes {
            guard byName.updateValue(node, forKey: node.name) == nil else { throw TFGraphError.duplicateNode(node.name) }
        }
        return byName
    }

    /// How many nodes use each op type.
    public var opCounts: [String: Int] {
        nodes.reduce(into: [:]) { $0[$1.op, default: 0] += 1 }
    }
}

/// One `NodeDef`.
public struct TFNode: Sendable {
    public var name = ""
    public var op = ""
    /// Data inputs as `node` or `node:output`; control inputs as `^node`.
    public var inputs: [String] = []
    public var attributes: [String: TFAttribute] = [:]

    init(_ reader: inout ProtobufReader) throws {
        while let (field, value) = try reader.next() {
            switch field {
            case 1: name = value.string
            case 2: op = value.string
            case 3: inputs.append(value.string)
            case 5:
                guard var entry = value.message() else { continue }
                var key = ""
                var attribute = TFAttribute.none
                while let (entryField, entryValue) = try entry.next() {
                    if entryField == 1 { key = entryValue.string }
                    if entryField == 2, var message = entryValue.message() { attribute = try TFAttribute(&message) }
                }
                attributes[key] = attribute
            default: continue
            }
        }
    }

    /// The `dtype` (or `T`) attribute, when the node has one.
    public var dataType: TFDataType? {
        if case let .type(type) = attributes["dtype"] ?? attributes["T"] ?? .none { return type }
        return nil
    }
}

/// One `AttrValue`; lists keep the kinds these graphs use.
public enum TFAttribute: Sendable, Equatable {
    case none
    case string(String)
    case int(Int)
    case float(Float)
    case bool(Bool)
    case type(TFDataType)
    case shape([Int]?)
    case tensor(TFTensor)
    case ints([Int])
    case floats([Float])
    case strings([String])
    case types([TFDataType])
    case function(String)

    init(_ reader: inout ProtobufReader) throws {
        self = .none
        while let (field, value) = try reader.next() {
            switch field {
            case 1:
                guard var list = value.message() else { continue }
                self = try Self.list(&list)
            case 2: self = .string(value.string)
            case 3: self = .int(value.int)
            case 4: self = .float(value.float)
            case 5: self = .bool(value.int != 0)
            case 6: self = .type(TFDataType(rawValue: value.int) ?? .unknown)
            case 7:
                guard var shape = value.message() else { continue }
                self = .shape(try TFTensor.shape(&shape))
            case 8:
                guard var tensor = value.message() else { continue }
                self = .tensor(try TFTensor(&tensor))
            case 10:
                guard var function = value.message() else { continue }
                while let (functionField, functionValue) = try function.next() {
                    if functionField == 1 { self = .function(functionValue.string) }
                }
            default: continue
            }
        }
    }

    private static func list(_ reader: inout ProtobufReader) throws -> TFAttribute {
        var ints: [Int] = [], floats: [Float] = [], strings: [String] = [], types: [TFDataType] = []
        while let (field, value) = try reader.next() {
            switch field {
            case 2: strings.append(value.string)
            case 3: ints += try value.packedInts()
            case 4: floats += value.packedFloats()
            case 6: types += try value.packedInts().map { TFDataType(rawValue: $0) ?? .unknown }
            default: continue
            }
        }
        if !floats.isEmpty { return .floats(floats) }
        if !strings.isEmpty { return .strings(strings) }
        if !types.isEmpty { return .types(types) }
        return .ints(ints)
    }
}

/// TensorFlow's `DataType` values that these graphs use.
public enum TFDataType: Int, Sendable {
    case unknown = 0, float = 1, double = 2, int32 = 3, uint8 = 4, int16 = 5, int8 = 6, string = 7, int64 = 9, bool = 10
    case bfloat16 = 14, uint16 = 17, half = 19, resource = 20, variant = 21, uint32 = 22, uint64 = 23

    /// Bytes per element of a dense tensor, nil for strings and handles.
    public var size: Int? {
        switch self {
        case .float, .int32, .uint32: return 4
        case .double, .int64, .uint64: return 8
        case .uint8, .int8, .bool: return 1
        case .int16, .uint16, .half, .bfloat16: return 2
        default: return nil
        }
    }
}

public enum TFGraphError: Error, CustomStringConvertible, Equatable {
    case notAGraph(reason: String)
    case duplicateNode(String)
    case malformedTensor(node: String, reason: String)

    public var description: String {
        switch self {
        case let .notAGraph(reason): return "not a TensorFlow frozen graph: \(reason)"
        case let .duplicateNode(name): return "the graph has two nodes named \(name)"
        case let .malformedTensor(node, reason): return "constant \(node): \(reason)"
        }
    }
}
