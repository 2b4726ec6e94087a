import Foundation

/// Kernels for values stored channels-last (N, H, W, C): the layout between oneDNN convolutions, so
/// that pooling, upsampling, concatenation and the YOLO decode need no layout conversion.
enum ChannelsLastKernels {
    /// NCHW (row-major) -> NHWC.
    static func toChannelsLast(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, shape: [Int]) {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        for b in 0..<n {
            for ch in 0..<c {
                let plane = source + (b * c + ch) * h * w
                let out = destination + b * h * w * c + ch
                for i in 0..<(h * w) { out[i * c] = plane[i] }
            }
        }
    }

    /// NHWC -> NCHW (row-major).
    static func toRowMajor(_ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>, shape: [Int]) {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        for b in 0..<n {
            for ch in 0..<c {
                let plane = destination + (b * c + ch) * h * w
                let input = source + b * h * w * c + ch
                for i in 0..<(h * w) { plane[i] = input[i * c] }
            }
        }
    }

    /// Averages over the window cells inside the image, summed in the reference's order (row by row),
    /// so the result equals `AveragePool.reference` exactly.
    static func averagePool(_ op: AveragePool, _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                            inputShape: [Int]) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let out = op.outputSize(height: h, width: w)
        for b in 0..<n {
            let input = source + b * h * w * c
            let output = destination + b * out.height * out.width * c
            for oy in 0..<out.height {
                let firstY = max(oy * op.strides.height - op.pads[0], 0)
                let lastY = min(oy * op.strides.height - op.pads[0] + op.kernel.height, h)
                for ox in 0..<out.width {
                    let firstX = max(ox * op.strides.width - op.pads[1], 0)
                    let lastX = min(ox * op.strides.width - op.pads[1] + op.kernel.width, w)
                    let cell = output + (oy * out.width + ox) * c
                    cell.initialize(repeating: 0, count: c)
                    for y in firstY..<max(lastY, firstY) {
                        for x in firstX..<max(lastX, firstX) {
                            let other = input + (y * w + x) * c
                            for ch in 0..<c { cell[ch] += other[ch] }
                        }
                    }
                    let count = max(lastY - firstY, 0) * max(lastX - firstX, 0)
                    if count > 0 { for ch in 0..<c { cell[ch] /= Float(count) } }
                }
            }
        }
    }

    /// CropAndResize on a channels-last image into channels-last crops: per sample, the four corner
    /// pixels are contiguous channel vectors. Same float32 arithmetic as `CropAndResize.reference`.
    static func cropAndResize(_ op: CropAndResize, image: UnsafePointer<Float>, imageShape: [Int], boxes: UnsafePointer<Float>,
                              boxCount: Int, _ destination: UnsafeMutablePointer<Float>) {
        let (c, h, w) = (imageShape[1], imageShape[2], imageShape[3])
        let (cropHeight, cropWidth) = (op.cropHeight, op.cropWidth)
        for box in 0..<boxCount {
            let b = boxes + box * 4
            let rows = op.samples(start: b[0], end: b[2], size: h, count: cropHeight)
            let columns = op.samples(start: b[1], end: b[3], size: w, count: cropWidth)
            for (i, row) in rows.enumerated() {
                for (j, column) in columns.enumerated() {
                    let cell = destination + ((box * cropHeight + i) * cropWidth + j) * c
                    guard let y = row, let x = column else {
                        cell.initialize(repeating: op.extrapolationValue, count: c)
                        continue
                    }
                    let (top, bottom) = (Int(y.rounded(.down)), Int(y.rounded(.up)))
                    let (left, right) = (Int(x.rounded(.down)), Int(x.rounded(.up)))
                    let (yLerp, xLerp) = (y - Float(top), x - Float(left))
                    let topLeft = image + (top * w + left) * c, topRight = image + (top * w + right) * c
                    let bottomLeft = image + (bottom * w + left) * c, bottomRight = image + (bottom * w + right) * c
                    for ch in 0..<c {
                        let upper = topLeft[ch] + (topRight[ch] - topLeft[ch]) * xLerp
                        let lower = bottomLeft[ch] + (bottomRight[ch] - bottomLeft[ch]) * xLerp
                        cell[ch] = upper + (lower - upper) * yLerp
                    }
                }
            }
        }
    }

    static func maxPool(_ op: MaxPool, _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                        inputShape: [Int]) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let out = op.outputSize(height: h, width: w)
        // Separable: a max over a rectangle is a max over rows of column-maxima. Rows first into a
        // scratch plane, then columns; both passes are contiguous over channels.
        let scratch = UnsafeMutablePointer<Float>.allocate(capacity: out.height * w * c)
        defer { scratch.deallocate() }
        for b in 0..<n {
            let input = source + b * h * w * c
            for oy in 0..<out.height {
                let row = scratch + oy * w * c
                let firstY = max(oy * op.strides.height - op.pads[0], 0)
                let lastY = min(oy * op.strides.height - op.pads[0] + op.kernel.height, h)
                row.initialize(from: input + firstY * w * c, count: w * c)
                for y in (firstY + 1)..<max(lastY, firstY + 1) {
                    let line = input + y * w * c
                    for i in 0..<(w * c) { row[i] = max(row[i], line[i]) }
                }
            }
            let output = destination + b * out.height * out.width * c
            for oy in 0..<out.height {
                let row = scratch + oy * w * c
                for ox in 0..<out.width {
                    let firstX = max(ox * op.strides.width - op.pads[1], 0)
                    let lastX = min(ox * op.strides.width - op.pads[1] + op.kernel.width, w)
                    let cell = output + (oy * out.width + ox) * c
                    cell.initialize(from: row + firstX * c, count: c)
                    for x in (firstX + 1)..<max(lastX, firstX + 1) {
                        let other = row + x * c
                        for ch in 0..<c { cell[ch] = max(cell[ch], other[ch]) }
                    }
                }
            }
        }
    }

    static func resize(_ op: Resize, _ source: UnsafePointer<Float>, _ destination: UnsafeMutablePointer<Float>,
                       inputShape: [Int]) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (outH, outW) = (h * op.scale.height, w * op.scale.width)
        for b in 0..<n {
            for oy in 0..<outH {
                let inputRow = source + (b * h + oy / op.scale.height) * w * c
                let outputRow = destination + (b * outH + oy) * outW * c
                for ox in 0..<outW {
                    (outputRow + ox * c).update(from: inputRow + (ox / op.scale.width) * c, count: c)
                }
            }
        }
    }

    /// Concatenation along channels of NHWC tensors: each output pixel is the inputs' pixels in order.
    static func concatChannels(_ sources: [(pointer: UnsafePointer<Float>, channels: Int)],
                               _ destination: UnsafeMutablePointer<Float>, pixels: Int) {
        let total = sources.reduce(0) { $0 + $1.channels }
        var offset = 0
        for source in sources {
            let c = source.channels
            for p in 0..<pixels {
                (destination + p * total + offset).update(from: source.pointer + p * c, count: c)
            }
            offset += c
        }
    }

    /// The inverse of `concatChannels`: consecutive channel ranges of each pixel into their own tensors.
    static func splitChannels(_ source: UnsafePointer<Float>, channels: Int, pixels: Int,
                              _ destinations: [(pointer: UnsafeMutablePointer<Float>, channels: Int)]) {
        var offset = 0
        for destination in destinations {
            let c = destination.channels
            for p in 0..<pixels {
                (destination.pointer + p * c).update(from: source + p * channels + offset, count: c)
            }
            offset += c
        }
    }

    /// `NearestResizeLike` on channels-last data: each output pixel copies its source pixel's channels.
    static func nearestResize(_ source: UnsafePointer<Float>, inputShape: [Int], _ destination: UnsafeMutablePointer<Float>,
                              outputShape: [Int]) {
        let (n, c, h, w) = (inputShape[0], inputShape[1], inputShape[2], inputShape[3])
        let (outHeight, outWidth) = (outputShape[2], outputShape[3])
        let columns = (0..<outWidth).map { NearestResizeLike.source($0, input: w, output: outWidth) }
        for b in 0..<n {
            for y in 0..<outHeight {
                let sourceRow = source + (b * h + NearestResizeLike.source(y, input: h, output: outHeight)) * w * c
                let destinationRow = destination + (b * outHeight + y) * outWidth * c
                for x in 0..<outWidth { (destinationRow + x * c).update(from: sourceRow + columns[x] * c, count: c) }
            }
        }
    }

    static func yoloDetect(_ op: YOLOv5Detect, _ sources: [(pointer: UnsafePointer<Float>, shape: [Int])],
                           _ destination: UnsafeMutablePointer<Float>) {
        let no = op.outputsPerAnchor
        let batch = sources[0].shape[0]
        let rowsPerImage = sources.reduce(0) { $0 + op.anchorCount * $1.shape[2] * $1.shape[3] }
        for n in 0..<batch {
            var row = n * rowsPerImage
            for (level, source) in sources.enumerated() {
                let (c, ny, nx) = (source.shape[1], source.shape[2], source.shape[3])
                let image = source.pointer + n * ny * nx * c
                for anchor in 0..<op.anchorCount {
                    for y in 0..<ny {
                        for x in 0..<nx {
                            let cell = image + (y * nx + x) * c + anchor * no
                            op.decode(level: level, anchor: anchor, x: x, y: y, read: { cell[$0] },
                                      into: destination + row * no)
                            row += 1
                        }
                    }
                }
            }
        }
    }
}
