import Foundation

/// Runs a command that may leave a daemon behind (pg_ctl start, slurmctld, munged) and waits for the
/// command itself. Foundation learns that a child exited when every copy of a descriptor it hands
/// the child is closed, and a daemon would keep that copy open for ever; so a shell closes every
/// inherited descriptor above stderr before it execs the command.
public enum DaemonLauncher {
    /// Exit status of `command` (looked up on PATH); its output goes to `log` when given.
    @discardableResult
    public static func run(_ command: [String], environment: [String: String] = [:], log: URL? = nil) throws -> Int32 {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", #"for fd in /proc/$$/fd/*; do n=${fd##*/}; [ "$n" -gt 2 ] && eval "exec $n>&-"; done; exec "$@""#, "bash"] + command
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = log.flatMap { url -> FileHandle? in
            FileManager.default.createFile(atPath: url.path, contents: nil)
            return try? FileHandle(forWritingTo: url)
        } ?? FileHandle(forWritingAtPath: "/dev/null")
        process.standardOutput = output
        process.standardError = output
        try process.run()
        process.waitUntilExit()
        return process.terminationStatus
    }
}
