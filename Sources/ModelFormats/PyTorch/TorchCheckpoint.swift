import Engine
import Foundation

/// A file written by `torch.save` (zip container), opened without executing anything: the pickle is
/// rebuilt as data by `Unpickler`, tensors are read from the mapped storages on demand.
public struct TorchCheckpoint {
    public let archive: ZipArchive
    public let root: PickleValue
    /// The folder prefix of every entry (`archive/` or the name the file was saved under).
    public let prefix: String
    public let littleEndian: Bool

    public init(path: String) throws {
        let file = try MappedFile(path: path)
        try self.init(archive: try ZipArchive(file: file))
    }

    public init(archive: ZipArchive) throws {
        self.archive = archive
        guard let pickle = archive.entry(endingWith: "data.pkl") else {
            throw ModelFormatError.notACheckpoint(reason: "the zip holds no data.pkl (not a PyTorch file)")
        }
        prefix = String(pickle.name.dropLast("data.pkl".count))
        if let byteorder = archive.entries[prefix + "byteorder"] {
            let text = String(decoding: try archive.data(byteorder), as: UTF8.self)
            littleEndian = !text.hasPrefix("big")
        } else {
            littleEndian = true
        }
        guard littleEndian else { throw ModelFormatError.unsupportedArchive(reason: "big-endian tensors") }
        let entries = archive.entries
        let prefix = self.prefix
        var unpickler = Unpickler(data: try archive.data(pickle)) { pid in
            // ('storage', <storage type>, key, location, numel)
            guard let items = pid.items, items.count >= 5, items[0].string == "storage",
                  case let .global(type) = items[1], let key = items[2].string, let count = items[4].int, count >= 0 else {
                throw ModelFormatError.malformedPickle(offset: 0, reason: "unexpected persistent id")
            }
            let storageType = StorageType(rawValue: type.name) ?? .uint8
            guard let entry = entries[prefix + "data/" + key] else {
                throw ModelFormatError.corruptArchive(reason: "tensor storage data/\(key) is missing")
            }
            guard count.multipliedReportingOverflow(by: storageType.byteSize).partialValue <= entry.size else {
                throw ModelFormatError.malformedTensor(name: "data/\(key)", reason: "declares \(count) elements but holds \(entry.size) bytes")
            }
            return .storage(StorageReference(key: key, type: storageType, count: count))
        }
        root = try unpickler.load()
    }

    /// A tensor's values as row-major float32 (float16/bfloat16/float64/integers converted).
    public func floats(_ tensor: TensorReference, name: String) throws -> [Float] {
        try Self.floats(tensor, name: name, archive: archive, prefix: prefix)
    }

    /// `floats` from the parts of a checkpoint that may be shared across threads (the archive reads a
    /// read-only memory map).
    static func floats(_ tensor: TensorReference, name: String, archive: ZipArchive, prefix: String) throws -> [Float] {
        let count = tensor.shape.reduce(1) { $0.multipliedReportingOverflow(by: max($1, 0)).partialValue }
        guard tensor.shape.allSatisfy({ $0 >= 0 }), tensor.offset >= 0 else {
            throw ModelFormatError.malformedTensor(name: name, reason: "negative size or offset")
        }
        if count == 0 { return [] }
        var last = tensor.offset
        for (size, stride) in zip(tensor.shape, tensor.strides) {
            guard stride >= 0 else { throw ModelFormatError.malformedTensor(name: name, reason: "negative stride") }
            last += (size - 1) * stride
        }
        guard last < tensor.storage.count else {
            throw ModelFormatError.malformedTensor(name: name, reason: "view reaches element \(last) of a \(tensor.storage.count)-element storage")
        }
        // A stride-0 view could declare far more elements than the file holds; cap the expansion.
        guard count <= max(tensor.storage.count, 1) * 64, count <= 1 << 31 else {
            throw ModelFormatError.malformedTensor(name: name, reason: "\(count) elements from a \(tensor.storage.count)-element storage")
        }
        guard let entry = archive.entries[prefix + "data/" + tensor.storage.key] else {
            throw ModelFormatError.corruptArchive(reason: "tensor storage data/\(tensor.storage.key) is missing")
        }
        let bytes = try archive.data(entry)
        if tensor.strides == Tensor.strides(of: tensor.shape), let values = Self.contiguous(tensor, bytes, count: count) {
            return values
        }
        let read = Self.elementReader(tensor.storage.type, bytes)
        var values = [Float](repeating: 0, count: count)
        StridedWalk.walk(shape: tensor.shape, strides: [tensor.strides], bases: [tensor.offset]) { flat, offsets in
            values[flat] = read(offsets[0])
        }
        return values
    }

    /// Every float16 bit pattern converted once: table lookup is the fastest exact conversion for the
    /// 140 M weights of MDv5 (the per-element path below is for strided views).
    static let halfTable: [Float] = (0...UInt16.max).map(halfToFloat)

    /// Bulk conversion of a contiguous view (the common case: every MDv5 weight).
    static func contiguous(_ tensor: TensorReference, _ bytes: UnsafeRawBufferPointer, count: Int) -> [Float]? {
        let start = tensor.offset * tensor.storage.type.byteSize
        guard start + count * tensor.storage.type.byteSize <= bytes.count else { return nil }
        let base = bytes.baseAddress! + start
        switch tensor.storage.type {
        case .float16:
            return halfTable.withUnsafeBufferPointer { table in
                [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                    for i in 0..<count { buffer[i] = table[Int(base.loadUnaligned(fromByteOffset: i * 2, as: UInt16.self))] }
                    initialized = count
                }
            }
        case .float32:
            return [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
                memcpy(buffer.baseAddress!, base, count * 4)
                initialized = count
            }
        default:
            return nil
        }
    }

    static func elementReader(_ type: StorageType, _ bytes: UnsafeRawBufferPointer) -> (Int) -> Float {
        switch type {
        case .float32: return { bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        case .float16: return { halfToFloat(bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) }
        case .bfloat16: return { Float(bitPattern: UInt32(bytes.loadUnaligned(fromByteOffset: $0 * 2, as: UInt16.self)) << 16) }
        case .float64: return { Float(bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Double.self)) }
        case .int64: return { Float(bytes.loadUnaligned(fromByteOffset: $0 * 8, as: Int64.self)) }
        case .int32: return { Float(bytes.loadUnaligned(fromByteOffset: $0 * 4, as: Int32.self)) }
        case .int16: return { Float(bytes.loadUnaligned(fromByteOffset: $0 * 2, as: Int16.self)) }
        case .int8: return { Float(Int8(bitPattern: bytes[$0])) }
        case .uint8, .bool: return { Float(bytes[$0]) }
        }
    }

    /// IEEE 754 binary16 -> binary32, exact for every value (subnormals, infinities, NaN).
    public static func halfToFloat(_ bits: UInt16) -> Float {
        let sign = UInt32(bits & 0x8000) << 16
        let exponent = UInt32(bits >> 10) & 0x1F
        var mantissa = UInt32(bits & 0x03FF)
        if exponent == 0x1F { return Float(bitPattern: sign | 0x7F80_0000 | mantissa << 13) }
        if exponent == 0 {
            if mantissa == 0 { return Float(bitPattern: sign) }
            var shifted: UInt32 = 0
            while mantissa & 0x0400 == 0 {
                mantissa <<= 1
                shifted += 1
            }
            mantissa &= 0x03FF
            return Float(bitPattern: sign | (113 - shifted) << 23 | mantissa << 13)
        }
        return Float(bitPattern: sign | (exponent + 112) << 23 | mantissa << 13)
    }
}
