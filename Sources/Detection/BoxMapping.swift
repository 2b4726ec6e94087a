import Foundation
import ResultsFormat

/// From network-input pixels back to the photo, then to MegaDetector's normalised, truncated boxes,
/// as the reference's classic mode does it (yolov5's or ultralytics' `scale_boxes`, `xyxy2xywh`,
/// `truncate_float`):
/// gain and padding are recomputed from the shapes (not taken from the letterbox), which can differ
/// from the padding applied by half a pixel; the arithmetic on boxes is float32, the final
/// conversion and truncation are in double precision.
public enum BoxMapping {
    /// Whose `scale_boxes` undoes the letterbox: the two libraries' differ.
    public enum LetterboxInverse: Sendable {
        /// yolov5: one gain, fractional padding.
        case yolov5
        /// ultralytics: the padding rounded to whole pixels (`round(pad - 0.1)`), and a gain per axis
        /// from the rounded resized size (`round(side * gain) / side`).
        case ultralytics
    }

    /// A box mapped back onto the photo: pixel corners clipped and rounded (`scale_boxes(...).round()`),
    /// the score as the network gave it. What both MegaDetector's records and speciesnet's are made from.
    public struct MappedBox: Sendable, Equatable {
        public var category: String
        public var score: Float
        public var x1: Float, y1: Float, x2: Float, y2: Float
        public var imageWidth: Int, imageHeight: Int

        /// yolov5's `xyxy2xywhn` in float32: centre and size over the photo's size.
        var normalizedCentreSize: (cx: Float, cy: Float, width: Float, height: Float) {
            let (w0, h0) = (Float(imageWidth), Float(imageHeight))
            return ((x1 + x2) / 2 / w0, (y1 + y2) / 2 / h0, (x2 - x1) / w0, (y2 - y1) / h0)
        }

        /// [xmin, ymin, width, height], the corner taken in double from the float32 centre and size (as
        /// both the reference and speciesnet do), not yet truncated or rounded.
        public var normalizedBox: [Double] {
            let box = normalizedCentreSize
            let (cx, cy, bw, bh) = (Double(box.cx), Double(box.cy), Double(box.width), Double(box.height))
            return [cx - bw / 2.0, cy - bh / 2.0, bw, bh]
        }
    }

    /// The NMS boxes in network-input pixels, mapped onto the photo, in the order given, those whose
    /// class has a category name and whose score reaches `threshold` (compared in float32).
    public static func mappedBoxes(_ boxes: [PixelBox], inputWidth: Int, inputHeight: Int, imageWidth: Int, imageHeight: Int,
                                   threshold: Double, inverse: LetterboxInverse = .yolov5,
                                   category: (Int) -> String?) -> [MappedBox] {
        let gain = min(Double(inputHeight) / Double(imageHeight), Double(inputWidth) / Double(imageWidth))
        var padX = Float((Double(inputWidth) - Double(imageWidth) * gain) / 2)
        var padY = Float((Double(inputHeight) - Double(imageHeight) * gain) / 2)
        var (gainX, gainY) = (Float(gain), Float(gain))
        if inverse == .ultralytics {
            // Python's round(): half to even.
            let resizedWidth = max((Double(imageWidth) * gain).rounded(.toNearestOrEven), 1)
            let resizedHeight = max((Double(imageHeight) * gain).rounded(.toNearestOrEven), 1)
            gainX = Float(resizedWidth / Double(imageWidth))
            gainY = Float(resizedHeight / Double(imageHeight))
            padX = Float(((Double(inputWidth) - resizedWidth) / 2 - 0.1).rounded(.toNearestOrEven))
            padY = Float(((Double(inputHeight) - resizedHeight) / 2 - 0.1).rounded(.toNearestOrEven))
        }
        let (w0, h0) = (Float(imageWidth), Float(imageHeight))
        return boxes.compactMap { box in
            guard Double(box.score) >= Double(Float(threshold)), let name = category(box.classIndex) else { return nil }
            let x1 = min(max((box.x1 - padX) / gainX, 0), w0).rounded(.toNearestOrEven)
            let x2 = min(max((box.x2 - padX) / gainX, 0), w0).rounded(.toNearestOrEven)
            let y1 = min(max((box.y1 - padY) / gainY, 0), h0).rounded(.toNearestOrEven)
            let y2 = min(max((box.y2 - padY) / gainY, 0), h0).rounded(.toNearestOrEven)
            return MappedBox(category: name, score: box.score, x1: x1, y1: y1, x2: x2, y2: y2, imageWidth: imageWidth, imageHeight: imageHeight)
        }
    }

    /// MegaDetector's records: box truncated to 4 decimals, confidence to 3.
    public static func detections(_ boxes: [PixelBox], inputWidth: Int, inputHeight: Int, imageWidth: Int, imageHeight: Int,
                                  threshold: Double, inverse: LetterboxInverse = .yolov5,
                                  category: (Int) -> String?) -> [DetectionResult] {
        // The reference walks NMS output in reverse; detections are later stably sorted by the
        // truncated confidence, so this order decides ties.
        let mapped = mappedBoxes(boxes.reversed(), inputWidth: inputWidth, inputHeight: inputHeight, imageWidth: imageWidth,
                                 imageHeight: imageHeight, threshold: threshold, inverse: inverse, category: category)
        return mapped.map { box in
            DetectionResult(category: box.category, conf: truncate(Double(box.score), digits: 3),
                            bbox: box.normalizedBox.map { truncate($0, digits: 4) })
        }.filter { $0.conf >= threshold }
    }

    /// `math.floor(x * 10**digits) / 10**digits`
    public static func truncate(_ value: Double, digits: Int) -> Double {
        let scale = pow(10.0, Double(digits))
        return (value * scale).rounded(.down) / scale
    }
}
