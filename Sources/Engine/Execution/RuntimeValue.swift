/// 64-byte aligned float storage for one run-time value; recycled through `BufferPool`.
final class RuntimeBuffer {
    let pointer: UnsafeMutablePointer<Float>
    let capacity: Int

    init(capacity: Int) {
        self.capacity = capacity
        let raw = UnsafeMutableRawPointer.allocate(byteCount: max(capacity, 1) * MemoryLayout<Float>.stride, alignment: 64)
        pointer = raw.bindMemory(to: Float.self, capacity: max(capacity, 1))
    }

    deinit {
        UnsafeMutableRawPointer(pointer).deallocate()
    }
}

/// How a run-time value's elements are laid out. `channelsLast` is only used for rank-4 tensors whose
/// logical shape is [N, C, H, W]; their memory order is N, H, W, C (what the oneDNN convolutions use).
enum MemoryLayout4D {
    case rowMajor
    case channelsLast
}

/// A value during execution: logical shape, layout and storage.
struct RuntimeValue {
    var shape: [Int]
    var layout: MemoryLayout4D
    var buffer: RuntimeBuffer
    /// False for graph inputs and constants, whose storage the executor must never recycle or write.
    var owned: Bool

    var count: Int { shape.reduce(1, *) }
}

/// Reuses buffers of equal size between runs and between layers, so that steady-state inference
/// allocates nothing and memory stays at the peak of one forward pass.
final class BufferPool {
    private var free: [Int: [RuntimeBuffer]] = [:]

    func take(_ count: Int) -> RuntimeBuffer {
        if var list = free[count], let buffer = list.popLast() {
            free[count] = list
            return buffer
        }
        return RuntimeBuffer(capacity: count)
    }

    func give(_ buffer: RuntimeBuffer) {
        free[buffer.capacity, default: []].append(buffer)
    }
}
