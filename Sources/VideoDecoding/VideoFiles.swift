/// Which files are clips: the reference's `VIDEO_EXTENSIONS`, compared without case.
public enum VideoFiles {
    public static let extensions: Set<String> = ["mp4", "avi", "mpeg", "mpg", "mov", "mkv", "flv"]

    public static func isVideo(_ path: String) -> Bool {
        guard let dot = path.lastIndex(of: "."), !path[dot...].contains("/") else { return false }
        return extensions.contains(path[path.index(after: dot)...].lowercased())
    }
}
