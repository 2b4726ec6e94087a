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

    public static func detections(_ boxes: [PixelBox], inputWidth: Int, inputHeight: Int, imageWidth: Int, imageHeight: Int,
                                  threshold: Double, inverse: LetterboxInverse = .yolov5,
                                  category: (Int) -> String?) -> [DetectionResult] {
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
        var results: [DetectionResult] = []
        // The reference walks NMS output in reverse; detections are later stably sorted by the
        // truncated confidence, so this order decides ties.
        for box in boxes.reversed() {
            guard Double(box.score) >= Double(Float(threshold)), let name = category(box.classIndex) else { continue }
            var x1 = (box.x1 - padX) / gainX, x2 = (box.x2 - padX) / gainX
            var y1 = (box.y1 - padY) / gainY, y2 = (box.y2 - padY) / gainY
            x1 = min(max(x1, 0), w0).rounded(.toNearestOrEven)
            x2 = min(max(x2, 0), w0).rounded(.toNearestOrEven)
            y1 = min(max(y1, 0), h0).rounded(.toNearestOrEven)
            y2 = min(max(y2, 0), h0).rounded(.toNearestOrEven)
            // xyxy2xywh in float32, divided by the (integer) image size in float32.
            let cx = Double((x1 + x2) / 2 / w0), cy = Double((y1 + y2) / 2 / h0)
            let bw = Double((x2 - x1) / w0), bh = Double((y2 - y1) / h0)
            let bbox = [cx - bw / 2.0, cy - bh / 2.0, bw, bh].map { truncate($0, digits: 4) }
            results.append(DetectionResult(category: name, conf: truncate(Double(box.score), digits: 3), bbox: bbox))
        }
        return results.filter { $0.conf >= threshold }
    }

    /// `math.floor(x * 10**digits) / 10**digits`
    public static func truncate(_ value: Double, digits: Int) -> Double {
        let scale = pow(10.0, Double(digits))
        return (value * scale).rounded(.down) / scale
    }
}
