import Imaging

/// The classifier input for one detection, made with speciesnet's exact arithmetic
/// (`SpeciesNetClassifier.preprocess`, always_crop): the photo as float32 (`uint8 / 255`), a crop of
/// `int(ymin * H)`, `int(xmin * W)`, `int(height * H)`, `int(width * W)` pixels (zero fill where the box
/// leaves the photo, as torchvision's `crop`), resized to 480x480 by PyTorch's bilinear interpolation
/// (align_corners false, no antialias, float32 arithmetic in PyTorch's order), then back to uint8 as
/// torchvision's `convert_image_dtype` does (`x * 255.999`, truncated).
///
/// PyTorch's x86 builds compile its interpolation kernel for AVX2/AVX-512 with multiply-adds fused:
/// the source index is `fma(scale, i + 0.5, -0.5)` and each two-tap sum is `fma(a, w0, b * w1)`. We
/// fuse the same operations, which makes the crops byte-identical to speciesnet's (tested on shared
/// photos); unfused arithmetic differed in one pixel in a few hundred.
public enum SpeciesNetCrop {
    public static let size = 480

    /// nil when the box has no pixels (speciesnet cannot classify it either).
    public static func crop(_ image: RGBImage, bbox: [Double], size: Int = SpeciesNetCrop.size) -> RGBImage? {
        guard bbox.count == 4, bbox.allSatisfy(\.isFinite) else { return nil }
        // Python's int(): truncation toward zero of the float64 product.
        func truncated(_ value: Double) -> Int? { abs(value) < 1e9 ? Int(value) : nil }
        guard let top = truncated(bbox[1] * Double(image.height)), let left = truncated(bbox[0] * Double(image.width)),
              let height = truncated(bbox[3] * Double(image.height)), let width = truncated(bbox[2] * Double(image.width)),
              height > 0, width > 0, height <= 1 << 16, width <= 1 << 16 else { return nil }
        return resized(Crop(image: image, top: top, left: left, height: height, width: width), size: size)
    }

    /// The input of a `full_image` model: the photo's top and bottom cut off (30 % of its height, but
    /// at most 400 rows in all), the rest centred as torchvision's `center_crop` places it, full width.
    public static func centreCrop(_ image: RGBImage, size: Int = SpeciesNetCrop.size) -> RGBImage {
        let height = max(Int(Double(image.height) * (1.0 - 0.3)), image.height - 400)
        // int(round((H - h) / 2.0)): Python's round, half to even.
        let top = Int((Double(image.height - height) / 2.0).rounded(.toNearestOrEven))
        return resized(Crop(image: image, top: top, left: 0, height: max(height, 1), width: image.width), size: size)
    }

    static func resized(_ source: Crop, size: Int) -> RGBImage {
        let (height, width) = (source.height, source.width)
        let rows = axisWeights(input: height, output: size), columns = axisWeights(input: width, output: size)
        var pixels = [UInt8](repeating: 0, count: size * size * 3)
        pixels.withUnsafeMutableBufferPointer { out in
            for y in 0..<size {
                let row = rows[y]
                for x in 0..<size {
                    let column = columns[x]
                    for channel in 0..<3 {
                        // PyTorch's basic_loop: interpolate along width for each of the two rows, then
                        // along height; each `o = a * w0; o += b * w1`.
                        let upper = (source.value(row.index0, column.index1, channel) * column.weight1)
                            .addingProduct(source.value(row.index0, column.index0, channel), column.weight0)
                        let lower = (source.value(row.index1, column.index1, channel) * column.weight1)
                            .addingProduct(source.value(row.index1, column.index0, channel), column.weight0)
                        let value = (lower * row.weight1).addingProduct(upper, row.weight0)
                        out[(y * size + x) * 3 + channel] = quantize(value)
                    }
                }
            }
        }
        return RGBImage(width: size, height: size, pixels: pixels)
    }

    /// torchvision's float -> uint8: `x * (255 + 1 - 1e-3)` in float32, truncated.
    static func quantize(_ value: Float) -> UInt8 {
        let scaled = value * Float(255.999)
        return scaled <= 0 ? 0 : scaled >= 255 ? 255 : UInt8(scaled)
    }

    struct Tap {
        var index0: Int, index1: Int
        var weight0: Float, weight1: Float
    }

    /// PyTorch's `compute_indices_weights_linear` (align_corners false, scale = input / output in
    /// float32, source index clamped at 0).
    static func axisWeights(input: Int, output: Int) -> [Tap] {
        let scale = Float(input) / Float(output)
        return (0..<output).map { index in
            let real = max(Float(-0.5).addingProduct(scale, Float(index) + 0.5), 0)
            let index0 = min(Int(real), input - 1)
            let lambda = min(max(real - Float(index0), 0), 1)
            let index1 = index0 + (index0 < input - 1 ? 1 : 0)
            return Tap(index0: index0, index1: index1, weight0: 1 - lambda, weight1: lambda)
        }
    }

    /// The photo as float32 in [0, 1] seen through a crop window, zero outside the photo.
    struct Crop {
        let image: RGBImage
        let top: Int, left: Int, height: Int, width: Int

        func value(_ y: Int, _ x: Int, _ channel: Int) -> Float {
            let row = top + y, column = left + x
            guard row >= 0, row < image.height, column >= 0, column < image.width else { return 0 }
            return Float(image.pixels[(row * image.width + column) * 3 + channel]) / 255
        }
    }
}
