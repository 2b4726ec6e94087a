/// A minimal protobuf wire-format reader: enough to walk ONNX's messages field by field. Every length
/// is checked against the bytes present, so a malformed file fails with an offset instead of reading
/// out of bounds or allocating what it claims.
struct ProtobufReader {
    enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        case fixed32(UInt32)
        case bytes(UnsafeRawBufferPointer, offset: Int)
    }

    let data: UnsafeRawBufferPointer
    /// Offset of `data` within the whole file, for error messages.
    let base: Int
    private var position = 0

    init(_ data: UnsafeRawBufferPointer, base: Int = 0) {
        self.data = data
        self.base = base
    }

    /// The next (field number, value), or nil at the end of the message.
    mutating func next() throws -> (field: Int, value: Value)? {
        guard position < data.count else { return nil }
        let start = position
        let key = try varint()
        let field = Int(key >> 3)
        guard field > 0 else { throw error(start, "field number 0") }
        switch key & 7 {
        case 0: return (field, .varint(try varint()))
        case 1:
            guard data.count - position >= 8 else { throw error(start, "truncated 64-bit field") }
            defer { position += 8 }
            return (field, .fixed64(data.loadUnaligned(fromByteOffset: position, as: UInt64.self)))
        case 2:
            let length = try varint()
            guard length <= UInt64(data.count - position) else {
                throw error(start, "field \(field) claims \(length) bytes, \(data.count - position) remain")
            }
            let slice = UnsafeRawBufferPointer(rebasing: data[position..<(position + Int(length))])
            defer { position += Int(length) }
            return (field, .bytes(slice, offset: base + position))
        case 5:
            guard data.count - position >= 4 else { throw error(start, "truncated 32-bit field") }
            defer { position += 4 }
            return (field, .fixed32(data.loadUnaligned(fromByteOffset: position, as: UInt32.self)))
        default:
            throw error(start, "unsupported wire type \(key & 7)")
        }
    }

    private mutating func varint() throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard position < data.count else { throw error(position, "truncated varint") }
            let byte = data[position]
            position += 1
            guard shift < 64 else { throw error(position, "varint longer than 10 bytes") }
            result |= UInt64(byte & 0x7F) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    private func error(_ at: Int, _ reason: String) -> ModelFormatError {
        .malformedProtobuf(offset: base + at, reason: reason)
    }
}

extension ProtobufReader.Value {
    var int: Int {
        switch self {
        case let .varint(v), let .fixed64(v): return Int(truncatingIfNeeded: v)
        case let .fixed32(v): return Int(Int32(bitPattern: v))
        case .bytes: return 0
        }
    }

    var float: Float {
        if case let .fixed32(v) = self { return Float(bitPattern: v) }
        return Float(int)
    }

    var string: String {
        if case let .bytes(buffer, _) = self { return String(decoding: buffer, as: UTF8.self) }
        return ""
    }

    func message() -> ProtobufReader? {
        if case let .bytes(buffer, offset) = self { return ProtobufReader(buffer, base: offset) }
        return nil
    }

    /// Repeated int64: packed (one length-delimited run of varints) or a single unpacked value.
    func packedInts() throws -> [Int] {
        guard case let .bytes(buffer, offset) = self else { return [int] }
        var values: [Int] = []
        var position = 0
        while position < buffer.count {
            var result: UInt64 = 0, shift: UInt64 = 0
            while true {
                guard position < buffer.count, shift < 64 else {
                    throw ModelFormatError.malformedProtobuf(offset: offset + position, reason: "bad packed varint")
                }
                let byte = buffer[position]
                position += 1
                result |= UInt64(byte & 0x7F) << shift
                if byte & 0x80 == 0 { break }
                shift += 7
            }
            values.append(Int(truncatingIfNeeded: result))
        }
        return values
    }

    /// Repeated float: packed (fixed32 run) or a single unpacked value.
    func packedFloats() -> [Float] {
        guard case let .bytes(buffer, _) = self else { return [float] }
        return (0..<(buffer.count / 4)).map { Float(bitPattern: buffer.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
    }
}
