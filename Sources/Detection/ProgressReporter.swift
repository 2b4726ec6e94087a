import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Progress on stderr. On a terminal: one redrawn bar with images/s and ETA. Otherwise (GUIs, logs):
/// a plain line every 10 seconds, `Processed N of M images (R images per second, ETA T)`.
/// Messages about single photos (`Image X cannot be loaded: ...`) are printed on their own line.
public final class ProgressReporter: @unchecked Sendable {
    // Safety: all mutable state is behind `lock`; calls come from the batch loop and log messages.
    private let lock = NSLock()
    private let interactive: Bool
    private let quiet: Bool
    private var total = 0, done = 0, newlyDone = 0, framesDone = 0
    private var started = Date()
    private var lastPrinted = Date.distantPast

    public init(quiet: Bool = false, interactive: Bool? = nil) {
        self.quiet = quiet
        self.interactive = interactive ?? (isatty(STDERR_FILENO) == 1)
    }

    public func begin(total: Int, alreadyDone: Int) {
        lock.lock()
        defer { lock.unlock() }
        self.total = total
        done = alreadyDone
        newlyDone = 0
        framesDone = 0
        started = Date()
        if alreadyDone > 0 { emit("Resuming: \(alreadyDone) of \(total) images already done") }
    }

    public func advance(file: String, failed: Bool) {
        lock.lock()
        defer { lock.unlock() }
        done += 1
        newlyDone += 1
        let now = Date()
        guard !quiet else { return }
        if interactive {
            if now.timeIntervalSince(lastPrinted) >= 0.2 || done == total { draw(now) }
        } else if now.timeIntervalSince(lastPrinted) >= 10 || done == total {
            lastPrinted = now
            let frames = framesDone > 0 ? "; \(framesDone) video frames" : ""
            FileHandle.standardError.write(Data("Processed \(done) of \(total) images (\(String(format: "%.2f", rate(now))) images per second, ETA \(eta(now)))\(frames)\n".utf8))
        }
    }

    /// One sampled video frame inferred (a clip counts as one of `total` when it ends). Long clips keep
    /// the display moving: the bar redraws, and logs get a line every 10 seconds.
    func frameDone() {
        lock.lock()
        defer { lock.unlock() }
        framesDone += 1
        let now = Date()
        guard !quiet else { return }
        if interactive {
            if now.timeIntervalSince(lastPrinted) >= 0.2 { draw(now) }
        } else if now.timeIntervalSince(lastPrinted) >= 10 {
            lastPrinted = now
            FileHandle.standardError.write(Data("Processed \(done) of \(total) images; \(framesDone) video frames\n".utf8))
        }
    }

    public func note(_ message: String) {
        lock.lock()
        defer { lock.unlock() }
        emit(message)
    }

    public func end() {
        lock.lock()
        defer { lock.unlock() }
        if interactive && !quiet { FileHandle.standardError.write(Data("\n".utf8)) }
    }

    private func emit(_ message: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data(((interactive ? "\r\u{1B}[K" : "") + message + "\n").utf8))
    }

    private func rate(_ now: Date) -> Double {
        let elapsed = now.timeIntervalSince(started)
        return elapsed > 0 ? Double(newlyDone) / elapsed : 0
    }

    private func eta(_ now: Date) -> String {
        let perSecond = rate(now)
        guard perSecond > 0 else { return "unknown" }
        return Self.duration(Double(total - done) / perSecond)
    }

    private func draw(_ now: Date) {
        lastPrinted = now
        let width = 30
        let filled = total > 0 ? width * done / total : width
        let bar = String(repeating: "#", count: filled) + String(repeating: "-", count: width - filled)
        let frames = framesDone > 0 ? " (\(framesDone) video frames)" : ""
        let line = "\r[\(bar)] \(done)/\(total)\(frames) \(String(format: "%.2f", rate(now))) images/s ETA \(eta(now))"
        FileHandle.standardError.write(Data(line.utf8))
    }

    /// Like Python's humanfriendly.format_timespan for the reference's final line: "16.74 seconds",
    /// "1 minute and 5.2 seconds", "2 hours and 3 minutes".
    public static func duration(_ seconds: Double) -> String {
        if seconds < 60 { return "\(format(seconds)) second\(seconds == 1 ? "" : "s")" }
        let minutes = Int(seconds / 60), rest = seconds - Double(minutes * 60)
        if minutes < 60 {
            return "\(minutes) minute\(minutes == 1 ? "" : "s") and \(format(rest)) second\(rest == 1 ? "" : "s")"
        }
        let hours = minutes / 60, leftover = minutes % 60
        return "\(hours) hour\(hours == 1 ? "" : "s") and \(leftover) minute\(leftover == 1 ? "" : "s")"
    }

    private static func format(_ value: Double) -> String {
        var text = String(format: "%.2f", value)
        while text.hasSuffix("0") { text.removeLast() }
        if text.hasSuffix(".") { text.removeLast() }
        return text
    }
}
