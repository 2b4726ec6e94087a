import Foundation

/// A second "host" on this machine for fault tests: a network namespace joined to the host by a
/// veth pair on its own /24. `cut()` takes the host end down, so packets to and from the namespace
/// are dropped (no reset: connections hang, as on a real network partition); `restore()` brings it
/// back. Needs root and iproute2; `create()` returns nil otherwise.
public final class NetworkNamespace: @unchecked Sendable {
    public let name: String
    public let hostAddress: String
    public let namespaceAddress: String
    let hostInterface: String

    init(subnet: Int) {
        let tag = String(UUID().uuidString.prefix(6)).lowercased()
        name = "md-\(tag)"
        hostInterface = "mdh\(tag)"
        hostAddress = "10.213.\(subnet).1"
        namespaceAddress = "10.213.\(subnet).2"
    }

    @discardableResult
    static func ip(_ arguments: [String]) -> Bool {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["ip"] + arguments
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        guard (try? process.run()) != nil else { return false }
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// A namespace with its veth pair up, or nil (with nothing left behind) where that is not allowed.
    public static func create() -> NetworkNamespace? {
        guard getuid() == 0 else { return nil }
        let namespace = NetworkNamespace(subnet: Int.random(in: 1..<250))
        let inner = namespace.hostInterface.replacingOccurrences(of: "mdh", with: "mdn")
        let steps: [[String]] = [
            ["netns", "add", namespace.name],
            ["link", "add", namespace.hostInterface, "type", "veth", "peer", "name", inner],
            ["link", "set", inner, "netns", namespace.name],
            ["addr", "add", "\(namespace.hostAddress)/24", "dev", namespace.hostInterface],
            ["link", "set", namespace.hostInterface, "up"],
            ["netns", "exec", namespace.name, "ip", "addr", "add", "\(namespace.namespaceAddress)/24", "dev", inner],
            ["netns", "exec", namespace.name, "ip", "link", "set", inner, "up"],
            ["netns", "exec", namespace.name, "ip", "link", "set", "lo", "up"],
        ]
        for step in steps where !ip(step) {
            namespace.destroy()
            return nil
        }
        return namespace
    }

    /// Arguments that run `command` inside the namespace (through `ip netns exec`, which execs it:
    /// the process id is the command's own).
    public func exec(_ command: [String]) -> (executable: URL, arguments: [String]) {
        (URL(fileURLWithPath: "/usr/bin/env"), ["ip", "netns", "exec", name] + command)
    }

    public func cut() { Self.ip(["link", "set", hostInterface, "down"]) }
    public func restore() { Self.ip(["link", "set", hostInterface, "up"]) }

    public func destroy() {
        Self.ip(["link", "del", hostInterface])
        Self.ip(["netns", "del", name])
    }
}
