import CImageCodecs
import Foundation

/// A TrueType font rasterised with FreeType (labels on rendered photos). The default is DejaVu Sans
/// from Debian's fonts-dejavu-core; `MEGADETECTOR_FONT` names another file.
public final class Font: @unchecked Sendable {
    // Safety: FreeType faces are not thread-safe; every use goes through `lock`.
    private let handle: OpaquePointer
    private let lock = NSLock()
    public let path: String

    public static let searchPaths = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/dejavu/DejaVuSans.ttf", "/System/Library/Fonts/Supplemental/Arial.ttf",
    ]

    /// The default font, or nil when none is installed (labels are then left out, boxes still drawn).
    public static let standard: Font? = {
        let candidates = [ProcessInfo.processInfo.environment["MEGADETECTOR_FONT"]].compactMap { $0 } + searchPaths
        return candidates.lazy.compactMap { Font(path: $0) }.first
    }()

    public init?(path: String) {
        guard FileManager.default.fileExists(atPath: path), let handle = md_font_open(path) else { return nil }
        self.handle = handle
        self.path = path
    }

    deinit {
        md_font_close(handle)
    }

    public struct Metrics: Sendable { public let width: Int, ascent: Int, descent: Int }

    public func measure(_ text: String, size: Int) -> Metrics {
        lock.lock()
        defer { lock.unlock() }
        var width: Int32 = 0, ascent: Int32 = 0, descent: Int32 = 0
        md_font_measure(handle, text, Int32(size), &width, &ascent, &descent)
        return Metrics(width: Int(width), ascent: Int(ascent), descent: Int(descent))
    }

    /// Coverage (0...255) of `text`, `metrics.width` x (ascent + descent) pixels.
    public func rasterize(_ text: String, size: Int) -> (coverage: [UInt8], width: Int, height: Int, metrics: Metrics) {
        let metrics = measure(text, size: size)
        let height = max(metrics.ascent + metrics.descent, 1), width = max(metrics.width, 1)
        var coverage = [UInt8](repeating: 0, count: width * height)
        lock.lock()
        _ = coverage.withUnsafeMutableBufferPointer {
            md_font_render(handle, text, Int32(size), $0.baseAddress, Int32(width), Int32(height), Int32(metrics.ascent))
        }
        lock.unlock()
        return (coverage, width, height, metrics)
    }
}
