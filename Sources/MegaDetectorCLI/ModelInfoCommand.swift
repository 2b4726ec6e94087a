import ArgumentParser
import Engine
import Foundation
import ModelFormats

struct ModelInfoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model-info",
        abstract: "Describe a model file (.pt, .onnx, or a MegaDetector v2-v4 .pb) without running it: architecture, classes, strides, anchors."
    )

    @Argument(help: "Path to a model file (MegaDetector .pt, YOLOv5 .pt, or .onnx).")
    var file: String

    @OptionGroup var engine: EngineOptions

    func run() throws {
        try reportingErrors {
            engine.apply()
            if file.lowercased().hasSuffix(".pb") {
                let graph = try TensorFlowGraphFile.open(file)
                print(Self.describe(try FasterRCNNGraph.inspect(graph), try FasterRCNNHyperparameters.read(graph), path: file))
                return
            }
            let model = try ModelLoader.load(path: file, backend: engine.backend)
            print(Self.describe(model.info, backend: model.network.backend))
        }
    }

    static func describe(_ info: ModelInfo, backend: ExecutionBackend) -> String {
        var lines = [
            "file:               \(info.path)",
            "format:             \(info.format)",
            "architecture:       \(info.architecture)",
            "parameters:         \(info.parameterCount.formatted()) (\(String(format: "%.1f", Double(info.parameterCount) / 1e6)) M, after BatchNorm folding)",
            "storage precision:  \(info.storagePrecision) (computed in float32)",
            "input:              \(info.inputName) \(info.inputShape.map { $0 < 0 ? "?" : String($0) }.joined(separator: "x"))",
            "default input size: \(info.defaultInputSize)",
            "output:             \(info.outputName) (\(info.outputKind.rawValue))",
        ]
        if !info.classNames.isEmpty {
            lines.append("classes:            \(info.classNames.count): " +
                         info.classNames.enumerated().map { "\($0.offset)=\($0.element)" }.joined(separator: ", "))
        }
        if !info.strides.isEmpty {
            lines.append("strides:            " + info.strides.map { String(Int($0)) }.joined(separator: ", "))
            for (level, anchors) in info.anchorsInPixels.enumerated() {
                let text = anchors.map { "\(formatNumber($0.width))x\(formatNumber($0.height))" }.joined(separator: " ")
                lines.append("anchors P\(level + 3):         \(text)")
            }
        }
        lines.append("backend:            \(backend == .oneDNN ? "oneDNN \(OneDNN.version)" : "reference (plain Swift)")")
        lines.append("load time:          \(String(format: "%.3f", info.loadSeconds)) s")
        return lines.joined(separator: "\n")
    }

    /// A MegaDetector v2-v4 frozen graph: what the structure checks found.
    static func describe(_ summary: FasterRCNNGraph.Summary, _ numbers: FasterRCNNHyperparameters, path: String) -> String {
        let ops = summary.opCounts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        let mostUsed = ops.prefix(6).map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let scales = numbers.anchorScales.map { formatNumber($0) }.joined(separator: " ")
        let ratios = numbers.anchorAspectRatios.map { formatNumber($0) }.joined(separator: " ")
        let source = numbers.anchorsReadFromFile ? "" : " (MegaDetector's config: not stored under GridAnchorGenerator/)"
        let anchors = "\(summary.anchorsPerCell) per cell, base \(numbers.anchorBaseSize), stride \(numbers.anchorStride), scales \(scales), aspect ratios \(ratios)\(source)"
        let lines: [String] = [
            "file:               \(path)",
            "format:             TensorFlow frozen graph (GraphDef producer \(summary.producer))",
            "architecture:       Faster R-CNN, InceptionResNetV2 (TF Object Detection API export, MegaDetector v2-v4)",
            "nodes:              \(summary.nodeCount) (\(summary.opCounts.count) op types; most used: \(mostUsed))",
            "weights:            \(summary.weightCount.formatted()) floats (\(summary.weightBytes.formatted()) bytes stored)",
            "input:              image_tensor uint8 1xHxWx3",
            "outputs:            detection_boxes, detection_scores, detection_classes, num_detections",
            "classes:            \(summary.classCount) (from the second-stage weights)",
            "resizer:            keep aspect ratio, \(numbers.minDimension) to \(numbers.maxDimension)",
            "anchors:            \(anchors)",
            "proposals:          \(numbers.maxProposals), NMS IoU \(formatNumber(numbers.firstStageIoUThreshold)); crops \(numbers.cropSize)x\(numbers.cropSize)",
            "detections:         up to \(numbers.maxDetectionsPerClass) per class, NMS IoU \(formatNumber(numbers.secondStageIoUThreshold))",
            "runs:               natively (Engine), through detect, render and the batch service",
        ]
        return lines.joined(separator: "\n")
    }

    private static func formatNumber(_ value: Float) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.2f", value)
    }
}
