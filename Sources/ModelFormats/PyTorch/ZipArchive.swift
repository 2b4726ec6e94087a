/// A read-only view of the ZIP archive `torch.save` writes (entries stored, not deflated; ZIP64
/// records appear in large files). Stored entry data is returned in place. Small deflated entries
/// are read too: tools append metadata that way (the reference's
/// `add_metadata_to_megadetector_model_file` adds `megadetector_info.json` deflate-compressed).
public struct ZipArchive: Sendable {
    public enum Method: Sendable, Equatable {
        case stored, deflated
    }

    public struct Entry: Sendable {
        public let name: String
        public let dataOffset: Int
        /// Bytes after decompression (for a stored entry, its bytes in the file).
        public let size: Int
        public let method: Method
        /// Bytes the entry occupies in the file.
        public let storedSize: Int
        public let crc32: UInt32
    }

    public let file: MappedFile
    public let entries: [String: Entry]

    private static let endOfCentralDirectory = 0x0605_4b50
    private static let zip64EndOfCentralDirectory = 0x0606_4b50
    private static let zip64Locator = 0x0706_4b50
    private static let centralHeader = 0x0201_4b50
    private static let localHeader = 0x0403_4b50
    /// More entries than any real checkpoint has (MDv5: about 900); bounds the directory we build.
    private static let maximumEntries = 1_000_000

    public init(file: MappedFile) throws {
        self.file = file
        let reader = ByteReader(bytes: file.bytes)
        let size = file.bytes.count
        guard size >= 22 else { throw ModelFormatError.corruptArchive(reason: "file is \(size) bytes, too short for a zip") }
        // The end-of-central-directory record sits in the last 22 + 65535 bytes.
        var eocd = -1
        var position = size - 22
        let lowest = max(0, size - 22 - 65_535)
        while position >= lowest {
            if reader.u32(position) == Self.endOfCentralDirectory { eocd = position; break }
            position -= 1
        }
        guard eocd >= 0 else {
            if reader.u32(0) == Self.localHeader {
                throw ModelFormatError.corruptArchive(reason: "end of central directory not found (the file is probably truncated)")
            }
            throw ModelFormatError.corruptArchive(reason: "not a zip file")
        }
        var entryCount = reader.u16(eocd + 10)!
        var directorySize = reader.u32(eocd + 12)!
        var directoryOffset = reader.u32(eocd + 16)!
        if entryCount == 0xFFFF || directoryOffset == 0xFFFF_FFFF || directorySize == 0xFFFF_FFFF,
           eocd >= 20, reader.u32(eocd - 20) == Self.zip64Locator {
            guard let record = reader.u64(eocd - 20 + 8), reader.u32(record) == Self.zip64EndOfCentralDirectory,
                  let count = reader.u64(record + 32), let dirSize = reader.u64(record + 40),
                  let dirOffset = reader.u64(record + 48) else {
                throw ModelFormatError.corruptArchive(reason: "bad ZIP64 end of central directory")
            }
            (entryCount, directorySize, directoryOffset) = (count, dirSize, dirOffset)
        }
        guard entryCount <= Self.maximumEntries, directoryOffset >= 0, directorySize >= 0,
              directoryOffset + directorySize <= size else {
            throw ModelFormatError.corruptArchive(reason: "central directory lies outside the file (truncated?)")
        }
        var entries: [String: Entry] = [:]
        var cursor = directoryOffset
        for _ in 0..<entryCount {
            guard reader.u32(cursor) == Self.centralHeader,
                  let method = reader.u16(cursor + 10),
                  let crc = reader.u32(cursor + 16),
                  var compressedSize = reader.u32(cursor + 20),
                  var uncompressedSize = reader.u32(cursor + 24),
                  let nameLength = reader.u16(cursor + 28),
                  let extraLength = reader.u16(cursor + 30),
                  let commentLength = reader.u16(cursor + 32),
                  var localOffset = reader.u32(cursor + 42),
                  let name = reader.string(cursor + 46, count: nameLength) else {
                throw ModelFormatError.corruptArchive(reason: "bad central directory entry at byte \(cursor)")
            }
            // ZIP64 extended information replaces saturated 32-bit fields, in this order.
            var extra = cursor + 46 + nameLength
            let extraEnd = extra + extraLength
            while extra + 4 <= extraEnd, let tag = reader.u16(extra), let length = reader.u16(extra + 2) {
                if tag == 0x0001 {
                    var field = extra + 4
                    if uncompressedSize == 0xFFFF_FFFF, let value = reader.u64(field) { uncompressedSize = value; field += 8 }
                    if compressedSize == 0xFFFF_FFFF, let value = reader.u64(field) { compressedSize = value; field += 8 }
                    if localOffset == 0xFFFF_FFFF, let value = reader.u64(field) { localOffset = value }
                }
                extra += 4 + length
            }
            guard method == 0 || method == 8 else {
                throw ModelFormatError.unsupportedArchive(reason: "entry \(name) is compressed with method \(method); only stored and deflated entries are read")
            }
            guard method == 8 || compressedSize == uncompressedSize,
                  uncompressedSize >= 0, compressedSize >= 0,
                  reader.u32(localOffset) == Self.localHeader,
                  let localNameLength = reader.u16(localOffset + 26),
                  let localExtraLength = reader.u16(localOffset + 28) else {
                throw ModelFormatError.corruptArchive(reason: "bad local header for \(name)")
            }
            let dataOffset = localOffset + 30 + localNameLength + localExtraLength
            guard dataOffset + compressedSize <= size else {
                throw ModelFormatError.corruptArchive(reason: "entry \(name) extends past the end of the file (truncated?)")
            }
            entries[name] = Entry(name: name, dataOffset: dataOffset, size: uncompressedSize, method: method == 8 ? .deflated : .stored,
                                  storedSize: compressedSize, crc32: UInt32(truncatingIfNeeded: crc))
            cursor = extraEnd + commentLength
        }
        self.entries = entries
    }

    /// A stored entry's bytes, in place (pickles and tensor storages: PyTorch never compresses them).
    public func data(_ entry: Entry) throws -> UnsafeRawBufferPointer {
        guard entry.method == .stored else {
            throw ModelFormatError.unsupportedArchive(reason: "entry \(entry.name) is deflate-compressed; PyTorch stores pickles and tensors uncompressed")
        }
        return raw(entry)
    }

    /// An entry's bytes, inflated when it is deflated; an entry larger than `maximumSize` is refused
    /// before anything is allocated.
    public func contents(_ entry: Entry, maximumSize: Int) throws -> [UInt8] {
        guard entry.size <= maximumSize else {
            throw ModelFormatError.unsupportedArchive(reason: "entry \(entry.name) is \(entry.size) bytes, more than the \(maximumSize) expected")
        }
        switch entry.method {
        case .stored: return [UInt8](raw(entry))
        case .deflated: return try ZipInflater.inflate(raw(entry), name: entry.name, expectedSize: entry.size, expectedCRC: entry.crc32)
        }
    }

    private func raw(_ entry: Entry) -> UnsafeRawBufferPointer {
        UnsafeRawBufferPointer(rebasing: file.bytes[entry.dataOffset..<(entry.dataOffset + entry.storedSize)])
    }

    /// The entry whose name ends with `suffix` (PyTorch prefixes every name with an archive folder).
    public func entry(endingWith suffix: String) -> Entry? {
        entries.values.filter { $0.name.hasSuffix(suffix) }.min { $0.name.count < $1.name.count }
    }
}
