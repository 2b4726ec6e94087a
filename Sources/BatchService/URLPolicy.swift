import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Which photo URLs a job may name: http/https only, and (unless allowed) never a host that resolves
/// to a loopback, link-local, private or unspecified address, so a caller cannot make the service
/// probe its own network. (A host could still re-resolve differently at download time; the check is
/// repeated just before each download to narrow that window.)
public struct URLPolicy: Sendable {
    public let allowURLs: Bool
    public let allowPrivateHosts: Bool

    public init(allowURLs: Bool, allowPrivateHosts: Bool) {
        self.allowURLs = allowURLs
        self.allowPrivateHosts = allowPrivateHosts
    }

    public static let refuseAll = URLPolicy(allowURLs: false, allowPrivateHosts: false)

    /// Nil when `reference` may be fetched, else the reason.
    public func refusal(_ reference: String) -> String? {
        guard allowURLs else { return "only local paths under the configured roots are supported (the service runs without --allow-urls)" }
        guard let url = URL(string: reference), let scheme = url.scheme?.lowercased(), ["http", "https"].contains(scheme) else {
            return "only http and https URLs are allowed"
        }
        guard let host = url.host, !host.isEmpty else { return "the URL has no host" }
        if allowPrivateHosts { return nil }
        let addresses = Self.resolve(host)
        if addresses.isEmpty { return "\(host) does not resolve" }
        if let blocked = addresses.first(where: Self.isInternal) { return "\(host) resolves to \(blocked), an internal address" }
        return nil
    }

    static func resolve(_ host: String) -> [String] {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, nil, &hints, &result) == 0, let first = result else { return [] }
        defer { freeaddrinfo(first) }
        var addresses: [String] = []
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        while let entry = cursor {
            var buffer = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(entry.pointee.ai_addr, entry.pointee.ai_addrlen, &buffer, socklen_t(buffer.count), nil, 0, NI_NUMERICHOST) == 0 {
                addresses.append(String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
            }
            cursor = entry.pointee.ai_next
        }
        return addresses
    }

    /// Loopback, link-local, private (RFC 1918, unique-local), carrier-grade NAT and unspecified.
    static func isInternal(_ address: String) -> Bool {
        let lower = address.lowercased()
        if lower.contains(":") {
            let mapped = lower.hasPrefix("::ffff:") ? String(lower.dropFirst(7)) : nil
            if let mapped, mapped.contains(".") { return isInternal(mapped) }
            return lower == "::1" || lower == "::" || lower.hasPrefix("fe8") || lower.hasPrefix("fe9") || lower.hasPrefix("fea")
                || lower.hasPrefix("feb") || lower.hasPrefix("fc") || lower.hasPrefix("fd")
        }
        let octets = lower.split(separator: ".").compactMap { Int($0) }
        guard octets.count == 4 else { return true }
        switch (octets[0], octets[1]) {
        case (0, _), (10, _), (127, _), (169, 254), (192, 168): return true
        case (172, 16...31), (100, 64...127): return true
        default: return false
        }
    }
}
