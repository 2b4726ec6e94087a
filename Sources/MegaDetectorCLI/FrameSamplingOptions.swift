import ArgumentParser
import VideoDecoding

extension FrameSampling {
    /// --frame-sample / --time-sample, which the reference also treats as mutually exclusive.
    static func parse(frameSample: Int?, timeSample: Double?) throws -> FrameSampling {
        switch (frameSample, timeSample) {
        case (nil, nil): return .everyFrame
        case let (n?, nil):
            guard n >= 0 else { throw ValidationError("--frame-sample must be 0 or more (0 and 1 both mean every frame)") }
            return .everyNthFrame(n)
        case let (nil, seconds?):
            guard seconds > 0, seconds.isFinite else { throw ValidationError("--time-sample must be a positive number of seconds") }
            return .everySeconds(seconds)
        default: throw ValidationError("--frame-sample and --time-sample are mutually exclusive")
        }
    }
}
