extension Tensor {
    /// NHWC (TensorFlow's layout) to NCHW (the Engine's).
    public func nhwcToNCHW() -> Tensor {
        let (n, h, w, c) = (shape[0], shape[1], shape[2], shape[3])
        var result = [Float](repeating: 0, count: values.count)
        for b in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
            result[((b * c + k) * h + y) * w + x] = values[((b * h + y) * w + x) * c + k]
        } } } }
        return Tensor(shape: [n, c, h, w], values: result)
    }

    /// NCHW (the Engine's layout) to NHWC (TensorFlow's).
    public func nchwToNHWC() -> Tensor {
        let (n, c, h, w) = (shape[0], shape[1], shape[2], shape[3])
        var result = [Float](repeating: 0, count: values.count)
        for b in 0..<n { for y in 0..<h { for x in 0..<w { for k in 0..<c {
            result[((b * h + y) * w + x) * c + k] = values[((b * c + k) * h + y) * w + x]
        } } } }
        return Tensor(shape: [n, h, w, c], values: result)
    }
}
