/// OpenCV's `cv2.resize(..., interpolation=INTER_LINEAR)` for 8-bit images, bit for bit.
///
/// What OpenCV does (and what this reproduces, checked against cv2 on real photos):
/// - source coordinate f = float((d + 0.5) * (src / dst) - 0.5), index floor(f), fraction f - floor(f),
///   computed in float32; weights round((1 - frac) * 2048) and round(frac * 2048) (11-bit fixed point);
/// - horizontally, an index left of 0 or at/after the last pixel is clamped with fraction 0;
///   vertically only the row indices are clamped, the fraction is kept;
/// - horizontal pass: exact integer sums; vertical pass as OpenCV's SIMD kernel computes it:
///   (((r0 >> 4) * b0) >> 16) + (((r1 >> 4) * b1) >> 16), then (x + 2) >> 2, saturated to 0...255.
/// No antialiasing when shrinking (bilinear sampling only), as OpenCV.
public enum LinearResize {
    struct Taps {
        var first: [Int]
        var second: [Int]
        var weights: [(Int32, Int32)]
    }

    static func taps(source: Int, destination: Int, clampFraction: Bool) -> Taps {
        let scale = Double(source) / Double(destination)
        var taps = Taps(first: [], second: [], weights: [])
        for d in 0..<destination {
            var f = Float((Double(d) + 0.5) * scale - 0.5)
            var s = Int(f.rounded(.down))
            f -= Float(s)
            if clampFraction {
                if s < 0 { f = 0; s = 0 }
                if s >= source - 1 { f = 0; s = source - 1 }
            }
            taps.first.append(min(max(s, 0), source - 1))
            taps.second.append(min(max(s + 1, 0), source - 1))
            let w0 = Int32(((1 - f) * 2048).rounded(.toNearestOrEven))
            let w1 = Int32((f * 2048).rounded(.toNearestOrEven))
            taps.weights.append((w0, w1))
        }
        return taps
    }

    public static func resize(_ image: RGBImage, width: Int, height: Int) -> RGBImage {
        if width == image.width && height == image.height { return image }
        let horizontal = taps(source: image.width, destination: width, clampFraction: true)
        let vertical = taps(source: image.height, destination: height, clampFraction: false)
        let rowLength = width * 3
        // Horizontally resized rows, computed once per source row that the vertical pass needs.
        var cache: [Int: [Int32]] = [:]
        func row(_ y: Int) -> [Int32] {
            if let cached = cache[y] { return cached }
            var out = [Int32](repeating: 0, count: rowLength)
            image.pixels.withUnsafeBufferPointer { pixels in
                let base = y * image.width * 3
                for x in 0..<width {
                    let (w0, w1) = horizontal.weights[x]
                    let a = base + horizontal.first[x] * 3, b = base + horizontal.second[x] * 3
                    for c in 0..<3 {
                        out[x * 3 + c] = Int32(pixels[a + c]) * w0 + Int32(pixels[b + c]) * w1
                    }
                }
            }
            if cache.count > 4 { cache.removeAll(keepingCapacity: true) }
            cache[y] = out
            return out
        }
        var output = [UInt8](repeating: 0, count: rowLength * height)
        for y in 0..<height {
            let r0 = row(vertical.first[y]), r1 = row(vertical.second[y])
            let (b0, b1) = vertical.weights[y]
            let base = y * rowLength
            for i in 0..<rowLength {
                let value = ((((r0[i] >> 4) * b0) >> 16) + (((r1[i] >> 4) * b1) >> 16) + 2) >> 2
                output[base + i] = UInt8(clamping: value)
            }
        }
        return RGBImage(width: width, height: height, pixels: output)
    }
}
