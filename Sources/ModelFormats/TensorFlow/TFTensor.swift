/// A `TensorProto` as stored in a frozen graph: its type and shape, and either a byte range of the
/// mapped file (`tensor_content`, how large weights are stored) or the few values written inline
/// (`float_val`, `int_val`, ...: scalars and small constants, where one value may stand for a whole
/// tensor filled with it).
public struct TFTensor: Sendable, Equatable {
    public var dataType: TFDataType = .unknown
    /// Dimensions; nil for an unknown rank.
    public var shape: [Int]? = []
    /// Offset and length of `tensor_content` in the file.
    public var contentRange: Range<Int>?
    public var inlineFloats: [Float] = []
    public var inlineInts: [Int] = []
    public var inlineStrings: [String] = []

    public var elementCount: Int { (shape ?? []).reduce(1, *) }

    init(_ reader: inout ProtobufReader) throws {
        while let (field, value) = try reader.next() {
            switch field {
            case 1: dataType = TFDataType(rawValue: value.int) ?? .unknown
            case 2:
                guard var message = value.message() else { continue }
                shape = try Self.shape(&message)
            case 4:
                if case let .bytes(buffer, offset) = value { contentRange = offset..<(offset + buffer.count) }
            case 5: inlineFloats += value.packedFloats()
            case 7, 10, 11, 13: inlineInts += try value.packedInts()  // int_val, int64_val, bool_val, half_val (bits)
            case 8: inlineStrings.append(value.string)
            default: continue
            }
        }
    }

    /// A `TensorShapeProto`: dimension sizes (-1 unknown), or nil for an unknown rank.
    static func shape(_ reader: inout ProtobufReader) throws -> [Int]? {
        var dimensions: [Int] = []
        var unknownRank = false
        while let (field, value) = try reader.next() {
            if field == 2, var dimension = value.message() {
                var size = 0
                while let (dimensionField, dimensionValue) = try dimension.next() {
                    if dimensionField == 1 { size = dimensionValue.int }
                }
                dimensions.append(size)
            }
            if field == 3 { unknownRank = value.int != 0 }
        }
        return unknownRank ? nil : dimensions
    }

    /// The values as floats (float, int and bool tensors), expanding an inline single value to the
    /// whole shape as TensorFlow does; the content's length is checked against type and shape.
    public func floats(in file: MappedFile, node: String) throws -> [Float] {
        let count = elementCount
        guard count >= 0, count <= 1 << 31 else { throw TFGraphError.malformedTensor(node: node, reason: "shape \(shape ?? []) is too large") }
        if let range = contentRange {
            guard let size = dataType.size, range.count == count * size else {
                throw TFGraphError.malformedTensor(node: node, reason: "\(range.count) content bytes for \(count) \(dataType) values")
            }
            let bytes = UnsafeRawBufferPointer(rebasing: file.bytes[range])
            switch dataType {
            case .float: return (0..<count).map { bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
            case .int32: return (0..<count).map { Float(bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
            case .int64: return (0..<count).map { Float(bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
            case .uint8, .bool: return (0..<count).map { Float(bytes[$0]) }
            default: throw TFGraphError.malformedTensor(node: node, reason: "\(dataType) values are not read as numbers")
            }
        }
        let inline = dataType == .float ? inlineFloats : inlineInts.map(Float.init)
        if inline.count == count { return inline }
        if inline.count == 1 { return Array(repeating: inline[0], count: count) }
        if inline.isEmpty { return Array(repeating: 0, count: count) }
        throw TFGraphError.malformedTensor(node: node, reason: "\(inline.count) inline values for shape \(shape ?? [])")
    }
}
