/// YOLOv5's letterbox as MegaDetector's classic mode calls it (`auto=True`, `scaleup=True`):
/// scale so the long side fits `size`, pad each side to a multiple of `stride` with grey 114.
public struct Letterbox: Sendable, Equatable {
    public let sourceWidth: Int
    public let sourceHeight: Int
    public let resizedWidth: Int
    public let resizedHeight: Int
    public let top: Int, bottom: Int, left: Int, right: Int

    public var width: Int { resizedWidth + left + right }
    public var height: Int { resizedHeight + top + bottom }

    public init(sourceWidth: Int, sourceHeight: Int, size: Int, stride: Int) {
        self.init(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: size, height: size, stride: stride)
    }

    /// `auto=False`: exactly `width` x `height` (a network with a fixed input size), the photo scaled to
    /// fit and centred, as YOLOv5's own detect.py letterboxes for fixed-size ONNX exports.
    public init(sourceWidth: Int, sourceHeight: Int, fixedWidth: Int, fixedHeight: Int) {
        self.init(sourceWidth: sourceWidth, sourceHeight: sourceHeight, width: fixedWidth, height: fixedHeight, stride: nil)
    }

    /// YOLOv5's letterbox: with a stride, each padding is the remainder modulo the stride (`auto=True`);
    /// without, the image is padded to the full size.
    private init(sourceWidth: Int, sourceHeight: Int, width: Int, height: Int, stride: Int?) {
        self.sourceWidth = sourceWidth
        self.sourceHeight = sourceHeight
        let r = min(Double(height) / Double(sourceHeight), Double(width) / Double(sourceWidth))
        // Python's round(): half to even.
        resizedWidth = Int((Double(sourceWidth) * r).rounded(.toNearestOrEven))
        resizedHeight = Int((Double(sourceHeight) * r).rounded(.toNearestOrEven))
        let padW = width - resizedWidth, padH = height - resizedHeight
        let dw = Double(stride.map { padW % $0 } ?? padW) / 2, dh = Double(stride.map { padH % $0 } ?? padH) / 2
        top = Int((dh - 0.1).rounded(.toNearestOrEven))
        bottom = Int((dh + 0.1).rounded(.toNearestOrEven))
        left = Int((dw - 0.1).rounded(.toNearestOrEven))
        right = Int((dw + 0.1).rounded(.toNearestOrEven))
    }

    /// The padded image (resized with OpenCV INTER_LINEAR semantics when the size changes).
    public func apply(to image: RGBImage) -> RGBImage {
        let resized = LinearResize.resize(image, width: resizedWidth, height: resizedHeight)
        var out = [UInt8](repeating: 114, count: width * height * 3)
        resized.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for y in 0..<resizedHeight {
                    let from = y * resizedWidth * 3, to = ((y + top) * width + left) * 3
                    (destination.baseAddress! + to).update(from: source.baseAddress! + from, count: resizedWidth * 3)
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }

    /// The network input: CHW float32 in [0, 1] (pixel / 255), shape [1, 3, height, width].
    public static func tensorValues(_ image: RGBImage) -> [Float] {
        let plane = image.width * image.height
        var values = [Float](repeating: 0, count: plane * 3)
        image.pixels.withUnsafeBufferPointer { pixels in
            for i in 0..<plane {
                values[i] = Float(pixels[i * 3]) / 255
                values[plane + i] = Float(pixels[i * 3 + 1]) / 255
                values[2 * plane + i] = Float(pixels[i * 3 + 2]) / 255
            }
        }
        return values
    }
}
