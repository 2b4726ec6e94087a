import CImageCodecs
import Foundation

/// An RGB colour.
public struct Color: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { (self.r, self.g, self.b) = (r, g, b) }
    public static let black = Color(0, 0, 0)
    public static let white = Color(255, 255, 255)
}

extension RGBImage {
    /// Fills [x0, x1) x [y0, y1), clipped to the image.
    public mutating func fill(x0: Int, y0: Int, x1: Int, y1: Int, color: Color) {
        let (left, right) = (max(x0, 0), min(x1, width)), (top, bottom) = (max(y0, 0), min(y1, height))
        guard left < right, top < bottom else { return }
        pixels.withUnsafeMutableBufferPointer { buffer in
            for y in top..<bottom {
                var offset = (y * width + left) * 3
                for _ in left..<right {
                    buffer[offset] = color.r
                    buffer[offset + 1] = color.g
                    buffer[offset + 2] = color.b
                    offset += 3
                }
            }
        }
    }

    /// A rectangle outline `thickness` pixels wide, centred on the edges [x0, x1] x [y0, y1] as PIL
    /// draws wide lines.
    public mutating func strokeRectangle(x0: Int, y0: Int, x1: Int, y1: Int, thickness: Int, color: Color) {
        let t = max(thickness, 1), before = t / 2, after = t - t / 2
        fill(x0: x0 - before, y0: y0 - before, x1: x1 + after, y1: y0 + after, color: color)  // top
        fill(x0: x0 - before, y0: y1 - before, x1: x1 + after, y1: y1 + after, color: color)  // bottom
        fill(x0: x0 - before, y0: y0 - before, x1: x0 + after, y1: y1 + after, color: color)  // left
        fill(x0: x1 - before, y0: y0 - before, x1: x1 + after, y1: y1 + after, color: color)  // right
    }

    /// Blends `color` into the image through a coverage mask whose top-left lands at (x, y).
    public mutating func blend(coverage: [UInt8], maskWidth: Int, maskHeight: Int, x: Int, y: Int, color: Color) {
        pixels.withUnsafeMutableBufferPointer { buffer in
            for row in 0..<maskHeight {
                let py = y + row
                guard py >= 0, py < height else { continue }
                for column in 0..<maskWidth {
                    let px = x + column
                    guard px >= 0, px < width else { continue }
                    let alpha = Int(coverage[row * maskWidth + column])
                    guard alpha > 0 else { continue }
                    let offset = (py * width + px) * 3
                    for (channel, value) in [color.r, color.g, color.b].enumerated() {
                        let old = Int(buffer[offset + channel])
                        buffer[offset + channel] = UInt8((old * (255 - alpha) + Int(value) * alpha + 127) / 255)
                    }
                }
            }
        }
    }

    /// The pixels of [x0, x1) x [y0, y1) (clipped) as a new image.
    public func cropped(x0: Int, y0: Int, x1: Int, y1: Int) -> RGBImage {
        let (left, right) = (max(x0, 0), min(max(x1, x0 + 1), width)), (top, bottom) = (max(y0, 0), min(max(y1, y0 + 1), height))
        let w = max(right - left, 1), h = max(bottom - top, 1)
        var out = [UInt8](repeating: 0, count: w * h * 3)
        for row in 0..<h where top + row < height {
            let from = ((top + row) * width + left) * 3
            let count = min(w, width - left) * 3
            out.replaceSubrange((row * w * 3)..<(row * w * 3 + count), with: pixels[from..<(from + count)])
        }
        return RGBImage(width: w, height: h, pixels: out)
    }

    /// Baseline JPEG (4:2:0) through libjpeg-turbo.
    public func jpegData(quality: Int = 85) -> Data {
        var output: UnsafeMutablePointer<UInt8>?
        let size = pixels.withUnsafeBufferPointer { md_jpeg_encode_rgb($0.baseAddress, Int32(width), Int32(height), Int32(quality), &output) }
        guard let output, size > 0 else { return Data() }
        defer { md_free(output) }
        return Data(bytes: output, count: size)
    }
}

extension RGBImage {
    /// Blurs the rectangle [x0, x1) x [y0, y1) in place (three box-blur passes, close to a Gaussian of
    /// the given radius), for hiding people before photos are shared. Pixels outside are untouched.
    public mutating func blur(x0: Int, y0: Int, x1: Int, y1: Int, radius: Int) {
        let (left, right) = (max(x0, 0), min(x1, width)), (top, bottom) = (max(y0, 0), min(y1, height))
        guard left < right, top < bottom else { return }
        var region = cropped(x0: left, y0: top, x1: right, y1: bottom)
        let r = max(1, min(radius, max(region.width, region.height) / 2))
        for _ in 0..<3 {
            region = region.boxBlurred(radius: r, horizontal: true)
            region = region.boxBlurred(radius: r, horizontal: false)
        }
        for row in 0..<region.height {
            let from = row * region.width * 3, to = ((top + row) * width + left) * 3
            pixels.replaceSubrange(to..<(to + region.width * 3), with: region.pixels[from..<(from + region.width * 3)])
        }
    }

    /// One box-blur pass along rows or columns, edges clamped.
    func boxBlurred(radius: Int, horizontal: Bool) -> RGBImage {
        var out = pixels
        let (lines, length) = horizontal ? (height, width) : (width, height)
        let window = 2 * radius + 1
        for line in 0..<lines {
            func index(_ position: Int) -> Int {
                let p = min(max(position, 0), length - 1)
                return (horizontal ? line * width + p : p * width + line) * 3
            }
            for channel in 0..<3 {
                var sum = 0
                for position in -radius...radius { sum += Int(pixels[index(position) + channel]) }
                for position in 0..<length {
                    out[index(position) + channel] = UInt8((sum + window / 2) / window)
                    sum += Int(pixels[index(position + radius + 1) + channel]) - Int(pixels[index(position - radius) + channel])
                }
            }
        }
        return RGBImage(width: width, height: height, pixels: out)
    }
}
