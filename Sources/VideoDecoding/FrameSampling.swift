/// Which frames of a clip the detector sees, with the reference's meaning (`process_video`'s
/// `--frame_sample` / `--time_sample`): frames 0, N, 2N, ... counted from the first frame.
public enum FrameSampling: Sendable, Equatable, CustomStringConvertible {
    /// Every frame (the reference's default).
    case everyFrame
    /// Every Nth frame; 0 and 1 mean every frame.
    case everyNthFrame(Int)
    /// One frame every S seconds, turned into a frame interval per clip as `int(S * frame_rate)`
    /// (truncated; at least 1, with a warning when shorter than a frame).
    case everySeconds(Double)

    /// The frame interval for a clip with this frame rate, and a warning when a time interval had to be
    /// raised to one frame.
    public func interval(frameRate: Double) -> (frames: Int, warning: String?) {
        switch self {
        case .everyFrame: return (1, nil)
        case let .everyNthFrame(n): return (max(n, 1), nil)
        case let .everySeconds(seconds):
            let product = seconds * frameRate
            let frames = product.isFinite && abs(product) < 1e15 ? Int(product) : 0
            if frames < 1 {
                return (1, "a sampling interval of \(seconds) seconds is shorter than the time between frames (\(frameRate) fps), sampling every frame")
            }
            return (frames, nil)
        }
    }

    public var description: String {
        switch self {
        case .everyFrame: return "every frame"
        case let .everyNthFrame(n): return n <= 1 ? "every frame" : "every \(Self.ordinal(n)) frame"
        case let .everySeconds(seconds): return "every \(seconds) s"
        }
    }

    /// 2nd, 3rd, 10th, 11th, 21st, ...
    static func ordinal(_ n: Int) -> String {
        let suffix: String
        switch (n % 10, n % 100) {
        case (_, 11...13): suffix = "th"
        case (1, _): suffix = "st"
        case (2, _): suffix = "nd"
        case (3, _): suffix = "rd"
        default: suffix = "th"
        }
        return "\(n)\(suffix)"
    }
}

extension FrameSampling {
    /// A compact text form for job stores and checkpoints: "" (every frame), "frames:N", "seconds:S".
    public var serialized: String {
        switch self {
        case .everyFrame: return ""
        case let .everyNthFrame(n): return n <= 1 ? "" : "frames:\(n)"
        case let .everySeconds(seconds): return "seconds:\(seconds)"
        }
    }

    public init?(serialized text: String) {
        if text.isEmpty { self = .everyFrame; return }
        let parts = text.split(separator: ":", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        switch parts[0] {
        case "frames":
            guard let n = Int(parts[1]), n >= 0 else { return nil }
            self = n <= 1 ? .everyFrame : .everyNthFrame(n)
        case "seconds":
            guard let seconds = Double(parts[1]), seconds > 0, seconds.isFinite else { return nil }
            self = .everySeconds(seconds)
        default: return nil
        }
    }
}
