import Dispatch
import Engine
import Foundation

/// Converts the convolution weights of a module tree to float32 on all cores before a graph builder
/// asks for them one by one. Why: for MDv5a (140 M parameters stored as float16) the conversion, and
/// the page faults of the 560 MB of fresh memory it writes, were most of the load time, on one thread.
/// A weight that fails to convert is left out; the builder's own request then reports the error with
/// the tensor's name, as before.
struct WeightPrefetch {
    private var values: [String: [Float]] = [:]

    init() {}

    /// Walks the modules below `roots` (each object once, at most `maximumDepth` levels: the tree comes
    /// from a file and may be crafted) and converts every `Conv2d` weight.
    init(roots: [PickleObject], checkpoint: TorchCheckpoint, maximumDepth: Int = 16) {
        var found: [TensorReference] = []
        var seen: Set<ObjectIdentifier> = []
        var stack = roots.map { ($0, 0) }
        while let (object, depth) = stack.popLast() {
            guard seen.insert(ObjectIdentifier(object)).inserted else { continue }
            if object.type.name == "Conv2d", let weight = object.tensor("weight") { found.append(weight) }
            guard depth < maximumDepth else { continue }
            for child in object.modules.compactMap(\.object) { stack.append((child, depth + 1)) }
        }
        let archive = checkpoint.archive, prefix = checkpoint.prefix, references = found
        let results = ConcurrentResults<[Float]?>(count: references.count)
        DispatchQueue.concurrentPerform(iterations: references.count) { index in
            results.set(index, try? TorchCheckpoint.floats(references[index], name: "", archive: archive, prefix: prefix))
        }
        for (index, reference) in references.enumerated() {
            if let converted = results.get(index) { values[Self.key(reference)] = converted }
        }
    }

    /// The converted values of `reference`, handed over once (later requests convert anew), so the
    /// caller owns the only copy and can fold into it in place.
    mutating func take(_ reference: TensorReference) -> [Float]? {
        values.removeValue(forKey: Self.key(reference))
    }

    private static func key(_ reference: TensorReference) -> String {
        "\(reference.storage.key)@\(reference.offset)@\(reference.shape)@\(reference.strides)"
    }
}
