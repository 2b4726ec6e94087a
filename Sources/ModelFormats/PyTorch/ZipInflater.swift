import CZlib

/// Inflates a ZIP entry stored with method 8 (raw deflate) into exactly its declared size, checking
/// its CRC-32. The declared size is bounded by the caller before anything is allocated: a crafted
/// size field must not choose an allocation, and data that inflates to more or less than declared
/// is refused.
enum ZipInflater {
    static func inflate(_ input: UnsafeRawBufferPointer, name: String, expectedSize: Int, expectedCRC: UInt32) throws -> [UInt8] {
        // One spare byte: output that would run past the declared size shows up as unfinished.
        var output = [UInt8](repeating: 0, count: expectedSize + 1)
        var stream = z_stream()
        // Negative window bits: a raw deflate stream, without zlib's header (what ZIP stores).
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw ModelFormatError.corruptArchive(reason: "cannot start inflating \(name)")
        }
        defer { inflateEnd(&stream) }
        let (status, produced) = output.withUnsafeMutableBytes { out -> (Int32, Int) in
            stream.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
            stream.avail_in = uInt(input.count)
            stream.next_out = out.baseAddress?.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(out.count)
            let status = CZlib.inflate(&stream, Z_FINISH)
            return (status, out.count - Int(stream.avail_out))
        }
        guard status == Z_STREAM_END, produced == expectedSize else {
            throw ModelFormatError.corruptArchive(reason: "entry \(name) does not inflate to its declared \(expectedSize) bytes (zlib status \(status), \(produced) bytes)")
        }
        output.removeLast()
        let crc = output.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, uInt($0.count))) }
        guard crc == expectedCRC else {
            throw ModelFormatError.corruptArchive(reason: "entry \(name) fails its CRC-32 check (damaged file)")
        }
        return output
    }
}
