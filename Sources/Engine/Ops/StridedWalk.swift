/// Visits every position of a row-major index space and hands out, for each of several strided views,
/// the element offset at that position. The one loop that broadcasting, transposes, slices and
/// constant folding all need.
public enum StridedWalk {
    /// Calls `body(flat, offsets)` for each position of `shape`, where
    /// `offsets[k] = bases[k] + sum(index[axis] * strides[k][axis])`.
    public static func walk(shape: [Int], strides: [[Int]], bases: [Int]? = nil, _ body: (Int, [Int]) -> Void) {
        let count = shape.reduce(1, *)
        guard count > 0 else { return }
        var index = [Int](repeating: 0, count: shape.count)
        var offsets = bases ?? [Int](repeating: 0, count: strides.count)
        for flat in 0..<count {
            body(flat, offsets)
            var axis = shape.count - 1
            while axis >= 0 {
                index[axis] += 1
                for k in 0..<strides.count { offsets[k] += strides[k][axis] }
                if index[axis] < shape[axis] { break }
                for k in 0..<strides.count { offsets[k] -= strides[k][axis] * shape[axis] }
                index[axis] = 0
                axis -= 1
            }
        }
    }
}
