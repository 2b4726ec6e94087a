#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file: model weights are read in place, never copied whole.
public final class MappedFile: @unchecked Sendable {
    // Safety: the mapping is read-only and never changes after init; deinit unmaps.
    public let bytes: UnsafeRawBufferPointer
    public let path: String

    public init(path: String) throws {
        self.path = path
        let descriptor = open(path, O_RDONLY)
        guard descriptor >= 0 else { throw ModelFormatError.fileNotFound(path: path) }
        defer { close(descriptor) }
        var info = stat()
        guard fstat(descriptor, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG else {
            throw ModelFormatError.fileNotFound(path: path)
        }
        let size = Int(info.st_size)
        if size == 0 {
            bytes = UnsafeRawBufferPointer(start: nil, count: 0)
            return
        }
        guard let address = mmap(nil, size, PROT_READ, MAP_PRIVATE, descriptor, 0), address != MAP_FAILED else {
            throw ModelFormatError.unreadable(path: path, reason: "cannot map the file")
        }
        bytes = UnsafeRawBufferPointer(start: address, count: size)
    }

    /// Gives the pages read so far back to the kernel; reading them again faults them in from the file.
    /// Loaders call this once the weights are converted into the graph: a model's file pages (280 MB for
    /// MDv5a) would otherwise stay resident, and count in the process's peak, while oneDNN prepares its
    /// copies. The mapping stays valid.
    public func releaseResidentPages() {
        guard let base = bytes.baseAddress else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base), bytes.count, MADV_DONTNEED)
    }

    deinit {
        if let base = bytes.baseAddress { munmap(UnsafeMutableRawPointer(mutating: base), bytes.count) }
    }
}

/// Bounds-checked little-endian reads from a byte range.
struct ByteReader {
    let bytes: UnsafeRawBufferPointer

    func u16(_ offset: Int) -> Int? {
        guard offset >= 0, offset + 2 <= bytes.count else { return nil }
        return Int(bytes[offset]) | Int(bytes[offset + 1]) << 8
    }

    func u32(_ offset: Int) -> Int? {
        guard offset >= 0, offset + 4 <= bytes.count else { return nil }
        return (0..<4).reduce(0) { $0 | Int(bytes[offset + $1]) << (8 * $1) }
    }

    func u64(_ offset: Int) -> Int? {
        guard offset >= 0, offset + 8 <= bytes.count else { return nil }
        let value = (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
        return value > UInt64(Int.max) ? nil : Int(value)
    }

    func string(_ offset: Int, count: Int) -> String? {
        guard offset >= 0, count >= 0, offset + count <= bytes.count else { return nil }
        return String(decoding: UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)]), as: UTF8.self)
    }
}
