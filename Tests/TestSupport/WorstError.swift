/// Worst-error arithmetic for numeric comparisons that must not lose a NaN.
///
/// Swift's `max(a, b)` and `Sequence.max()` compare with `<`/`>=`, which are false for NaN, so a NaN
/// error silently drops out and an all-NaN output would pass a `worst <= tolerance` check. These
/// helpers keep a NaN as the worst error, so the check fails.
public enum WorstError {
    /// The larger of two errors; NaN when either is NaN.
    public static func combine<T: FloatingPoint>(_ current: T, _ candidate: T) -> T {
        if current.isNaN || candidate.isNaN { return .nan }
        return Swift.max(current, candidate)
    }

    /// The largest element; NaN when any is NaN; `empty` (default infinity: nothing compared is a
    /// failure, not a pass) when there is none.
    public static func of<S: Sequence>(_ errors: S, empty: S.Element = .infinity) -> S.Element where S.Element: FloatingPoint {
        var worst: S.Element?
        for error in errors { worst = worst.map { combine($0, error) } ?? error }
        return worst ?? empty
    }

    /// The largest |a - b| over two equally long sequences; NaN when any pair involves a NaN,
    /// infinity when their lengths differ or both are empty.
    public static func absoluteDifference<A: Collection, B: Collection, T: FloatingPoint>(_ a: A, _ b: B) -> T
        where A.Element == T, B.Element == T {
        guard a.count == b.count else { return .infinity }
        return of(zip(a, b).map { abs($0 - $1) })
    }
}
