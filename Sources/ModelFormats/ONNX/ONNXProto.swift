import Engine

/// The parts of ONNX's protobuf messages the engine needs, decoded field by field.
struct ONNXModelProto {
    var irVersion = 0
    var producer = ""
    var opsets: [String: Int] = [:]
    var graph = ONNXGraphProto()
    /// `metadata_props`: ultralytics writes author, task, stride, imgsz, names there.
    var metadata: [String: String] = [:]

    init(_ data: UnsafeRawBufferPointer) throws {
        var reader = ProtobufReader(data)
        var sawGraph = false
        while let (field, value) = try reader.next() {
            switch field {
            case 1: irVersion = value.int
            case 2: producer = value.string
            case 7:
                guard var message = value.message() else { throw ModelFormatError.malformedONNX("graph is not a message") }
                graph = try ONNXGraphProto(&message)
                sawGraph = true
            case 8:
                guard var message = value.message() else { continue }
                var domain = "", version = 0
                while let (f, v) = try message.next() {
                    if f == 1 { domain = v.string } else if f == 2 { version = v.int }
                }
                opsets[domain == "ai.onnx" ? "" : domain] = version
            case 14:
                guard var message = value.message() else { continue }
                var key = "", text = ""
                while let (f, v) = try message.next() {
                    if f == 1 { key = v.string } else if f == 2 { text = v.string }
                }
                if metadata.count < 64, text.utf8.count <= 1 << 16 { metadata[key] = text }
            default: break
            }
        }
        guard sawGraph else { throw ModelFormatError.malformedONNX("the file holds no graph (not an ONNX model?)") }
    }
}

struct ONNXGraphProto {
    var nodes: [ONNXNodeProto] = []
    var initializers: [ONNXTensorProto] = []
    var inputs: [(name: String, shape: [Int])] = []
    var outputs: [String] = []

    init() {}

    init(_ reader: inout ProtobufReader) throws {
        while let (field, value) = try reader.next() {
            guard var message = value.message() else { continue }
            switch field {
            case 1: nodes.append(try ONNXNodeProto(&message))
            case 5: initializers.append(try ONNXTensorProto(&message))
            case 11: inputs.append(try Self.valueInfo(&message))
            case 12: outputs.append(try Self.valueInfo(&message).name)
            default: break
            }
        }
    }

    /// ValueInfoProto -> (name, dims); symbolic dimensions become -1.
    private static func valueInfo(_ reader: inout ProtobufReader) throws -> (name: String, shape: [Int]) {
        var name = "", shape: [Int] = []
        while let (field, value) = try reader.next() {
            if field == 1 { name = value.string }
            guard field == 2, var type = value.message() else { continue }
            while let (typeField, typeValue) = try type.next() {
                guard typeField == 1, var tensorType = typeValue.message() else { continue }
                while let (tensorField, tensorValue) = try tensorType.next() {
                    guard tensorField == 2, var shapeMessage = tensorValue.message() else { continue }
                    while let (shapeField, dimValue) = try shapeMessage.next() {
                        guard shapeField == 1, var dim = dimValue.message() else { continue }
                        var size = -1
                        while let (dimField, v) = try dim.next() { if dimField == 1 { size = v.int } }
                        shape.append(size)
                    }
                }
            }
        }
        return (name, shape)
    }
}

struct ONNXNodeProto {
    var name = ""
    var opType = ""
    var domain = ""
    var inputs: [String] = []
    var outputs: [String] = []
    var attributes: [String: ONNXAttribute] = [:]

    init(_ reader: inout ProtobufReader) throws {
        while let (field, value) = try reader.next() {
            switch field {
            case 1: inputs.append(value.string)
            case 2: outputs.append(value.string)
            case 3: name = value.string
            case 4: opType = value.string
            case 7: domain = value.string
            case 5:
                guard var message = value.message() else { continue }
                let attribute = try ONNXAttribute(&message)
                attributes[attribute.name] = attribute
            default: break
            }
        }
    }
}

struct ONNXAttribute {
    var name = ""
    var float: Float?
    var int: Int?
    var string: String?
    var tensor: ONNXTensorProto?
    var floats: [Float] = []
    var ints: [Int] = []

    init(_ reader: inout ProtobufReader) throws {
        while let (field, value) = try reader.next() {
            switch field {
            case 1: name = value.string
            case 2: float = value.float
            case 3: int = value.int
            case 4: string = value.string
            case 5:
                guard var message = value.message() else { continue }
                tensor = try ONNXTensorProto(&message)
            case 7: floats += value.packedFloats()
            case 8: ints += try value.packedInts()
            default: break
            }
        }
    }
}

/// A constant tensor (initializer or Constant value). Float data (weights) stays float32; integer and
/// double data (shapes, indices) is kept as Double, exact for every int64 a shape can hold.
struct ONNXTensorProto {
    var name = ""
    var dims: [Int] = []
    var dataType = 0
    private var floats: [Float]?
    private var doubles: [Double] = []

    var values: [Double] { floats.map { $0.map(Double.init) } ?? doubles }

    enum ElementType: Int {
        case float = 1, uint8 = 2, int8 = 3, int32 = 6, int64 = 7, bool = 9, float16 = 10, double = 11
    }

    init(_ reader: inout ProtobufReader) throws {
        var raw: UnsafeRawBufferPointer?
        var floatData: [Float] = [], intData: [Int] = [], doubleData: [Double] = []
        while let (field, value) = try reader.next() {
            switch field {
            case 1: dims += try value.packedInts()
            case 2: dataType = value.int
            case 4: floatData += value.packedFloats()
            case 5, 7: intData += try value.packedInts()
            case 8: name = value.string
            case 9: if case let .bytes(buffer, _) = value { raw = buffer }
            case 10:
                if case let .bytes(buffer, _) = value {
                    doubleData += (0..<(buffer.count / 8)).map { Double(bitPattern: buffer.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
                }
            case 14:
                if value.int == 1 { throw ModelFormatError.malformedONNX("tensor \(name) keeps its data in an external file, which is not supported") }
            default: break
            }
        }
        guard dims.allSatisfy({ $0 >= 0 }) else { throw ModelFormatError.malformedONNX("tensor \(name) has negative dimensions \(dims)") }
        let count = dims.reduce(1) { $0.multipliedReportingOverflow(by: $1).partialValue }
        guard let type = ElementType(rawValue: dataType) else {
            throw ModelFormatError.malformedONNX("tensor \(name) has unsupported element type \(dataType)")
        }
        if let raw {
            let size: Int
            switch type {
            case .float, .int32: size = 4
            case .int64, .double: size = 8
            case .float16: size = 2
            case .uint8, .int8, .bool: size = 1
            }
            guard raw.count == count * size else {
                throw ModelFormatError.malformedONNX("tensor \(name): \(raw.count) bytes for \(count) elements of type \(type)")
            }
            switch type {
            case .float: floats = (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            case .float16: floats = (0..<count).map { TorchCheckpoint.halfToFloat(raw.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
            default: break
            }
            if floats == nil { doubles = (0..<count).map { index -> Double in
                switch type {
                case .float: return Double(raw.loadUnaligned(fromByteOffset: index * 4, as: Float.self))
                case .int32: return Double(raw.loadUnaligned(fromByteOffset: index * 4, as: Int32.self))
                case .int64: return Double(raw.loadUnaligned(fromByteOffset: index * 8, as: Int64.self))
                case .double: return raw.loadUnaligned(fromByteOffset: index * 8, as: Double.self)
                case .float16: return Double(TorchCheckpoint.halfToFloat(raw.loadUnaligned(fromByteOffset: index * 2, as: UInt16.self)))
                case .uint8, .bool: return Double(raw[index])
                case .int8: return Double(Int8(bitPattern: raw[index]))
                }
            } }
        } else if !floatData.isEmpty {
            floats = floatData
        } else {
            doubles = !doubleData.isEmpty ? doubleData : intData.map(Double.init)
        }
        let held = floats?.count ?? doubles.count
        guard held == count else {
            throw ModelFormatError.malformedONNX("tensor \(name) declares \(count) elements and holds \(held)")
        }
    }

    init(name: String, dims: [Int], values: [Double]) {
        self.name = name
        self.dims = dims
        self.dataType = ElementType.int64.rawValue
        self.doubles = values
    }

    /// A float32 tensor (weights read from another container).
    init(name: String, dims: [Int], floats: [Float]) {
        self.name = name
        self.dims = dims
        self.dataType = ElementType.float.rawValue
        self.floats = floats
    }

    var floatTensor: Tensor { Tensor(shape: dims, values: floats ?? doubles.map { Float($0) }) }
    /// Values as integers, saturating (ONNX uses INT64_MAX for "to the end").
    var ints: [Int] { values.map { $0 >= 9.2e18 ? Int.max : $0 <= -9.2e18 ? Int.min : Int($0) } }
}

// Graphs rebuilt from other containers (onnx2torch GraphModules) reuse the ONNX converter.
extension ONNXGraphProto {
    init(nodes: [ONNXNodeProto], initializers: [ONNXTensorProto], inputs: [(name: String, shape: [Int])], outputs: [String]) {
        self.nodes = nodes
        self.initializers = initializers
        self.inputs = inputs
        self.outputs = outputs
    }
}

extension ONNXNodeProto {
    init(name: String, opType: String, inputs: [String], outputs: [String], attributes: [ONNXAttribute] = []) {
        self.name = name
        self.opType = opType
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = Dictionary(attributes.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension ONNXAttribute {
    init(name: String, int: Int? = nil, ints: [Int] = [], string: String? = nil, float: Float? = nil) {
        self.name = name
        self.int = int
        self.ints = ints
        self.string = string
        self.float = float
    }
}
