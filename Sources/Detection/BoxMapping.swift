import Foundation
import ResultsFormat

/// From network-input pixels back to the photo, then to MegaDetector's normalised, truncated boxes,
/// as the reference's classic mode does it (yolov5 `scale_boxes`, `xyxy2xywh`, `truncate_float`):
/// gain and padding are recomputed from the shapes (not taken from the letterbox), which can differ
/// from the padding applied by half a pixel; the arithmetic on boxes is float32, the final
/// conversion and truncation are in double precision.
public enum BoxMapping {
    public static func detections(_ boxes: [PixelBox], inputWidth: Int, inputHeight: Int, imageWidth: Int, imageHeight: Int,
                                  threshold: Double, category: (Int) -> String?) -> [DetectionResult] {
        let gain = min(Double(inputHeight) / Double(imageHeight), Double(inputWidth) / Double(imageWidth))
        let padX = Float((Double(inputWidth) - Double(imageWidth) * gain) / 2)
        let padY = Float((Double(inputHeight) - Double(imageHeight) * gain) / 2)
        let gain32 = Float(gain)
        let (w0, h0) = (Float(imageWidth), Float(imageHeight))
        var results: [DetectionResult] = []
        // The reference walks NMS output in reverse; detections are later stably sorted by the
        // truncated confidence, so this order decides ties.
        for box in boxes.reversed() {
            guard Double(box.score) >= Double(Float(threshold)), let name = category(box.classIndex) else { continue }
            var x1 = (box.x1 - padX) / gain32, x2 = (box.x2 - padX) / gain32
            var y1 = (box.y1 - padY) / gain32, y2 = (box.y2 - padY) / gain32
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
