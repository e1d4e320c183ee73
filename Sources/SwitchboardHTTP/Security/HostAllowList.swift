import Foundation

/// `security.hosts`: the names a request's `Host` may carry. A page on `rebind.evil.example` whose name
/// an attacker points at 127.0.0.1 (DNS rebinding) sends `Host: rebind.evil.example`, which is not on
/// the list, and is refused before anything is read or done. Entries are `name` (any port), `name:port`,
/// `*.domain` (any subdomain) or `*` (anything); an empty list allows anything.
struct HostAllowList: Sendable {
    private struct Entry: Sendable {
        var host: String
        var subdomains: Bool
        var port: Int?
    }

    private let entries: [Entry]
    private let allowsAny: Bool

    /// The list from configuration entries; nil entries (malformed) are left out: configuration checks
    /// report them first.
    init(_ texts: [String]) {
        var entries: [Entry] = []
        var any = texts.isEmpty
        for text in texts {
            let trimmed = text.trimmingCharacters(in: [" ", "\t"])
            if trimmed == "*" {
                any = true
                continue
            }
            let subdomains = trimmed.hasPrefix("*.")
            guard
                let (host, port) = HostAndPort.split(
                    subdomains ? String(trimmed.dropFirst(2)) : trimmed,
                    defaultPort: -1
                )
            else { continue }
            entries.append(Entry(host: host, subdomains: subdomains, port: port == -1 ? nil : port))
        }
        self.entries = entries
        self.allowsAny = any
    }

    /// The default of a listener on a loopback address: the loopback names with any port, and the
    /// listener's own address.
    static func loopbackDefault(listenerHost: String) -> [String] {
        var names = ["localhost", "127.0.0.1", "[::1]"]
        let own = listenerHost.contains(":") ? "[\(listenerHost)]" : listenerHost
        if !names.contains(own.lowercased()) { names.append(own) }
        return names
    }

    /// Whether a request with this `Host` header value (nil: none, as HTTP/1.0 allows) is answered.
    func allows(_ hostHeader: String?) -> Bool {
        if allowsAny { return true }
        // No Host at all is no browser (HTTP/1.1 browsers always send one): nothing to rebind.
        guard let hostHeader else { return true }
        guard let (host, port) = HostAndPort.split(hostHeader, defaultPort: -1) else { return false }
        return entries.contains { entry in
            let nameMatches = entry.subdomains ? host.hasSuffix("." + entry.host) : host == entry.host
            return nameMatches && (entry.port == nil || entry.port == port)
        }
    }

    /// Whether a `Host` value names this machine for the loopback privilege: a loopback name or address
    /// (`localhost`, `127.0.0.1`, `[::1]`), none at all, or — when the list names hosts — one of them. A
    /// list that allows anything vouches for nothing: `Host: rebind.evil.example` is a page whose name
    /// was pointed here, and must not borrow the machine's privilege.
    func vouchesForLocal(_ hostHeader: String?) -> Bool {
        guard let hostHeader else { return true }
        guard let (host, _) = HostAndPort.split(hostHeader, defaultPort: -1) else { return false }
        if host == "localhost" || (IPAddress(host)?.isLoopback ?? false) { return true }
        return !allowsAny && allows(hostHeader)
    }

    /// What is wrong with an entry, or nil (configuration checks).
    static func problem(with text: String) -> String? {
        let trimmed = text.trimmingCharacters(in: [" ", "\t"])
        if trimmed == "*" { return nil }
        let name = trimmed.hasPrefix("*.") ? String(trimmed.dropFirst(2)) : trimmed
        return HostAndPort.split(name, defaultPort: -1) == nil || name.contains("*")
            ? "\"\(text)\" is not a host: expected NAME, NAME:PORT, [IPV6]:PORT, *.DOMAIN or *" : nil
    }
}
