import Engine
import Foundation
import Imaging
import ModelFormats

/// SpeciesNet's classifier on the engine: a crop (`SpeciesNetCrop`) in, the top classes with their
/// softmax scores out, as speciesnet's `SpeciesNetClassifier.predict` reports them. Immutable once
/// loaded, so one instance serves concurrent callers.
public final class SpeciesNetClassifier: Sendable {
    public let folder: SpeciesNetModelFolder
    /// speciesnet's label lines: `uuid;class;order;family;genus;species;common name`, in output order.
    public let labels: [String]
    public let model: LoadedModel

    public struct Classification: Sendable, Equatable {
        public var label: String
        public var score: Float
    }

    public enum Failure: Error, CustomStringConvertible {
        case labelCount(labels: Int, outputs: Int)
        case wrongCropSize(width: Int, height: Int)

        public var description: String {
            switch self {
            case let .labelCount(labels, outputs): return "the classifier has \(outputs) outputs but its labels file \(labels) lines"
            case let .wrongCropSize(width, height): return "a \(width)x\(height) crop; the classifier takes \(SpeciesNetCrop.size)x\(SpeciesNetCrop.size)"
            }
        }
    }

    public init(folder path: String, backend: ExecutionBackend = .oneDNN) throws {
        folder = try SpeciesNetModelFolder(folder: path)
        let text = try String(contentsOfFile: folder.labelsPath, encoding: .utf8)
        // Python's readlines() + strip(): one label per line, surrounding whitespace removed.
        labels = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
            .reversed().drop(while: \.isEmpty).reversed()
        var loaded = try ModelLoader.load(path: folder.classifierPath, backend: backend)
        // The classifier runs in float32 as loaded and is never converted: oneDNN's copies suffice.
        loaded.network = loaded.network.releasingGraphWeights()
        model = loaded
        let outputs = model.info.architecture.isEmpty ? 0 : try Self.outputCount(model)
        guard outputs == labels.count else { throw Failure.labelCount(labels: labels.count, outputs: outputs) }
    }

    static func outputCount(_ model: LoadedModel) throws -> Int {
        let input = Tensor(shape: model.info.inputShape, values: [Float](repeating: 0, count: model.info.inputShape.reduce(1, *)))
        return try model.network.run([model.info.inputName: input])[model.info.outputName]?.shape.last ?? 0
    }

    /// The crop's logits (the network's output, before softmax).
    public func logits(_ crop: RGBImage) throws -> [Float] {
        guard crop.width == SpeciesNetCrop.size, crop.height == SpeciesNetCrop.size else {
            throw Failure.wrongCropSize(width: crop.width, height: crop.height)
        }
        // speciesnet: `img.arr / 255.0` in float64, stacked as float32 (NHWC).
        let input = Tensor(shape: [1, crop.height, crop.width, 3], values: crop.pixels.map { Float(Double($0) / 255.0) })
        guard let output = try model.network.run([model.info.inputName: input])[model.info.outputName] else { return [] }
        return output.values
    }

    /// The `top` most probable classes, most probable first (`torch.softmax`, then `torch.topk`).
    public func classify(_ crop: RGBImage, top: Int = 5) throws -> [Classification] {
        let scores = Self.softmax(try logits(crop))
        let order = scores.indices.sorted { scores[$0] != scores[$1] ? scores[$0] > scores[$1] : $0 < $1 }
        return order.prefix(max(0, min(top, scores.count))).map { Classification(label: labels[$0], score: scores[$0]) }
    }

    /// Softmax in float32 as PyTorch computes it on the CPU: exp(x - max), summed, times 1 / sum.
    static func softmax(_ logits: [Float]) -> [Float] {
        guard let maximum = logits.max() else { return [] }
        let exponentials = logits.map { Float(exp(Double($0 - maximum))) }
        let inverse = 1 / exponentials.reduce(0, +)
        return exponentials.map { $0 * inverse }
    }
}
