/// EXIF orientation as the reference applies it: 3 -> rotate 180, 6 -> rotate 90 clockwise
/// (PIL `rotate(270, expand=True)`), 8 -> rotate 90 counter-clockwise (`rotate(90)`). The mirrored
/// orientations 2, 4, 5, 7 are ignored, as the reference does.
public enum Orientation {
    public static func apply(_ orientation: Int, to image: RGBImage) -> RGBImage {
        switch orientation {
        case 3: return rotate(image, quarterTurnsClockwise: 2)
        case 6: return rotate(image, quarterTurnsClockwise: 1)
        case 8: return rotate(image, quarterTurnsClockwise: 3)
        default: return image
        }
    }

    public static func rotate(_ image: RGBImage, quarterTurnsClockwise turns: Int) -> RGBImage {
        let (w, h) = (image.width, image.height)
        let swapped = turns % 2 == 1
        let (outW, outH) = swapped ? (h, w) : (w, h)
        var out = [UInt8](repeating: 0, count: image.pixels.count)
        image.pixels.withUnsafeBufferPointer { source in
            out.withUnsafeMutableBufferPointer { destination in
                for y in 0..<h {
                    for x in 0..<w {
                        let (nx, ny): (Int, Int)
                        switch turns % 4 {
                        case 1: (nx, ny) = (h - 1 - y, x)
                        case 2: (nx, ny) = (w - 1 - x, h - 1 - y)
                        case 3: (nx, ny) = (y, w - 1 - x)
                        default: (nx, ny) = (x, y)
                        }
                        let from = (y * w + x) * 3, to = (ny * outW + nx) * 3
                        destination[to] = source[from]
                        destination[to + 1] = source[from + 1]
                        destination[to + 2] = source[from + 2]
                    }
                }
            }
        }
        return RGBImage(width: outW, height: outH, pixels: out)
    }
}
