import Engine
import Imaging

/// The input pipeline inside MegaDetector v2-v4 graphs, with TensorFlow's arithmetic: the photo is
/// resized keeping its aspect ratio so that it fits `minDimension` x `maxDimension` (the short side
/// against the smaller number; the scale and the rounding, half to even, in float32), with TF's legacy
/// bilinear sampling (no half-pixel centres, no corner alignment), then mapped to [-1, 1] as
/// `x * (2 / 255) - 1`.
public struct FasterRCNNPreprocessor: Sendable {
    public let minDimension: Int
    public let maxDimension: Int

    public init(minDimension: Int, maxDimension: Int) {
        self.minDimension = minDimension
        self.maxDimension = maxDimension
    }

    /// The resized (height, width) for a photo of `height` x `width`.
    public func resizedSize(height: Int, width: Int) -> (height: Int, width: Int) {
        let (targetHeight, targetWidth) = height < width ? (minDimension, maxDimension) : (maxDimension, minDimension)
        let scale = min(Float(targetHeight) / Float(height), Float(targetWidth) / Float(width))
        return (Int((scale * Float(height)).rounded(.toNearestOrEven)), Int((scale * Float(width)).rounded(.toNearestOrEven)))
    }

    /// Legacy TF sample positions along one axis: (lower index, upper index, weight of the upper).
    static func samples(input: Int, output: Int) -> [(Int, Int, Float)] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { index in
            let position = Float(index) * scale
            let lower = position.rounded(.down)
            return (max(Int(lower), 0), min(Int(position.rounded(.up)), input - 1), position - lower)
        }
    }

    /// The network input [1, height, width, 3] (NHWC) for a decoded photo.
    public func preprocess(_ image: RGBImage) -> Tensor {
        let size = resizedSize(height: image.height, width: image.width)
        let rows = Self.samples(input: image.height, output: size.height)
        let columns = Self.samples(input: image.width, output: size.width)
        let scale = Float(2.0 / 255.0)
        var values = [Float](repeating: 0, count: size.height * size.width * 3)
        image.pixels.withUnsafeBufferPointer { pixels in
            func pixel(_ y: Int, _ x: Int, _ c: Int) -> Float { Float(pixels[(y * image.width + x) * 3 + c]) }
            for (y, (top, bottom, yLerp)) in rows.enumerated() {
                for (x, (left, right, xLerp)) in columns.enumerated() {
                    for c in 0..<3 {
                        let topLeft = pixel(top, left, c), topRight = pixel(top, right, c)
                        let bottomLeft = pixel(bottom, left, c), bottomRight = pixel(bottom, right, c)
                        let upper = topLeft + (topRight - topLeft) * xLerp
                        let lower = bottomLeft + (bottomRight - bottomLeft) * xLerp
                        values[(y * size.width + x) * 3 + c] = scale * (upper + (lower - upper) * yLerp) - 1
                    }
                }
            }
        }
        return Tensor(shape: [1, size.height, size.width, 3], values: values)
    }
}
