/// A single-producer, single-consumer async queue with a fixed capacity: the producer waits while it
/// is full. This is what keeps memory flat over a million photos while decoding overlaps inference.
actor BoundedChannel<Element: Sendable> {
    private var buffer: [Element] = []
    private let capacity: Int
    private var finished = false
    private var waitingReceiver: CheckedContinuation<Element?, Never>?
    private var waitingSender: CheckedContinuation<Void, Never>?

    init(capacity: Int) {
        self.capacity = max(capacity, 1)
    }

    func send(_ element: Element) async {
        if let receiver = waitingReceiver {
            waitingReceiver = nil
            receiver.resume(returning: element)
            return
        }
        while buffer.count >= capacity && !finished {
            await withCheckedContinuation { waitingSender = $0 }
        }
        if finished { return }
        buffer.append(element)
    }

    /// The next element, or nil once the producer finished (or the consumer closed) and the buffer is empty.
    func receive() async -> Element? {
        if !buffer.isEmpty {
            let element = buffer.removeFirst()
            resumeSender()
            return element
        }
        if finished { return nil }
        return await withCheckedContinuation { waitingReceiver = $0 }
    }

    func finish() {
        finished = true
        resumeSender()
        if let receiver = waitingReceiver {
            waitingReceiver = nil
            receiver.resume(returning: nil)
        }
    }

    private func resumeSender() {
        if let sender = waitingSender {
            waitingSender = nil
            sender.resume()
        }
    }
}
