import Engine
import Foundation

/// YOLOv5's test-time augmentation (`model(x, augment=True)`), as the reference's `--augment` runs it:
/// the letterboxed input at scales 1, 0.83 (flipped left-right) and 0.67, each resized with PyTorch's
/// bilinear interpolation (align_corners=False) and padded to the largest stride with 0.447; the
/// predictions are mapped back (divided by the scale, x mirrored), the coarsest level of the first
/// pass and the finest of the last are dropped (`_clip_augmented`), and the rest concatenated.
enum TestTimeAugmentation {
    static let passes: [(scale: Double, flip: Bool)] = [(1, false), (0.83, true), (0.67, false)]

    /// Runs the three passes through `forward` and returns the merged prediction rows [1, N, no].
    static func run(_ input: Tensor, maximumStride: Int, levels: Int,
                    forward: (Tensor) throws -> Tensor) throws -> Tensor {
        let (height, width) = (input.shape[2], input.shape[3])
        var outputs: [Tensor] = []
        for pass in passes {
            var x = pass.flip ? flipLeftRight(input) : input
            if pass.scale != 1 {
                let size = (Int(Double(height) * pass.scale), Int(Double(width) * pass.scale))
                x = bilinear(x, height: size.0, width: size.1)
                let padded = (Int((Double(height) * pass.scale / Double(maximumStride)).rounded(.up)) * maximumStride,
                              Int((Double(width) * pass.scale / Double(maximumStride)).rounded(.up)) * maximumStride)
                x = pad(x, height: padded.0, width: padded.1, value: 0.447)
            }
            var y = try forward(x)
            let columns = y.shape[2]
            let scale = Float(pass.scale)
            y.values.withUnsafeMutableBufferPointer { rows in
                for row in 0..<(rows.count / columns) {
                    for k in 0..<4 { rows[row * columns + k] /= scale }
                    if pass.flip { rows[row * columns] = Float(width) - rows[row * columns] }
                }
            }
            outputs.append(y)
        }
        // _clip_augmented: g = sum(4^i), rows per coarsest cell group; drop the large-object level of the
        // first pass and the small-object level of the last.
        let groups = (0..<levels).reduce(0) { $0 + Int(pow(4.0, Double($1))) }
        let columns = outputs[0].shape[2]
        var merged: [Float] = []
        for (index, output) in outputs.enumerated() {
            let rows = output.shape[1]
            var range = 0..<rows
            if index == 0 { range = 0..<(rows - rows / groups) }
            if index == outputs.count - 1 { range = (rows / groups * Int(pow(4.0, Double(levels - 1))))..<rows }
            merged += output.values[(range.lowerBound * columns)..<(range.upperBound * columns)]
        }
        return Tensor(shape: [1, merged.count / columns, columns], values: merged)
    }

    static func flipLeftRight(_ x: Tensor) -> Tensor {
        var out = x
        let width = x.shape[3], rows = x.count / width
        for row in 0..<rows {
            for column in 0..<width { out.values[row * width + column] = x.values[row * width + width - 1 - column] }
        }
        return out
    }

    /// `F.interpolate(mode="bilinear", align_corners=False)` to an explicit size, in float32.
    static func bilinear(_ x: Tensor, height: Int, width: Int) -> Tensor {
        let (planes, inHeight, inWidth) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        func taps(_ input: Int, _ output: Int) -> [(Int, Int, Float, Float)] {
            let scale = Float(input) / Float(output)
            return (0..<output).map { d in
                let source = max(scale * (Float(d) + 0.5) - 0.5, 0)
                let first = Int(source)
                let next = first < input - 1 ? first + 1 : first
                let lambda = source - Float(first)
                return (first, next, 1 - lambda, lambda)
            }
        }
        let rowTaps = taps(inHeight, height), columnTaps = taps(inWidth, width)
        var values = [Float](repeating: 0, count: planes * height * width)
        for plane in 0..<planes {
            let base = plane * inHeight * inWidth
            for (y, (y0, y1, wy0, wy1)) in rowTaps.enumerated() {
                for (xIndex, (x0, x1, wx0, wx1)) in columnTaps.enumerated() {
                    let top = wx0 * x.values[base + y0 * inWidth + x0] + wx1 * x.values[base + y0 * inWidth + x1]
                    let bottom = wx0 * x.values[base + y1 * inWidth + x0] + wx1 * x.values[base + y1 * inWidth + x1]
                    values[(plane * height + y) * width + xIndex] = wy0 * top + wy1 * bottom
                }
            }
        }
        return Tensor(shape: [x.shape[0], x.shape[1], height, width], values: values)
    }

    /// Pads on the right and bottom to the given size (`F.pad(img, [0, dw, 0, dh], value=...)`).
    static func pad(_ x: Tensor, height: Int, width: Int, value: Float) -> Tensor {
        let (planes, inHeight, inWidth) = (x.shape[0] * x.shape[1], x.shape[2], x.shape[3])
        var values = [Float](repeating: value, count: planes * height * width)
        for plane in 0..<planes {
            for y in 0..<inHeight {
                for column in 0..<inWidth {
                    values[(plane * height + y) * width + column] = x.values[(plane * inHeight + y) * inWidth + column]
                }
            }
        }
        return Tensor(shape: [x.shape[0], x.shape[1], height, width], values: values)
    }
}
