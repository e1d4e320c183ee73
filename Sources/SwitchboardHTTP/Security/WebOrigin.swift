import Foundation

/// A web origin, `scheme://host:port` (RFC 6454), as browsers send it in `Origin`; and the `Host` of a
/// request, compared with it to tell same-origin requests. Hosts are lowercased and ports made explicit
/// (80 for http, 443 for https), so `http://LOCALHOST` and `http://localhost:80` are the same origin.
struct WebOrigin: Hashable, Sendable, CustomStringConvertible {
    var scheme: String
    var host: String
    var port: Int

    /// Parses an `Origin` header value; nil for `null` (sandboxed frames, `file:` pages) and anything
    /// malformed, which are never same-origin and match only `*`.
    init?(parsing text: some StringProtocol) {
        let text = String(text).trimmingCharacters(in: [" ", "\t"])
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        let authority = text[separator.upperBound...]
        guard !authority.contains("/"), !authority.contains("@"),
            let (host, port) = HostAndPort.split(authority, defaultPort: scheme == "https" ? 443 : 80)
        else { return nil }
        self.scheme = scheme
        self.host = host
        self.port = port
    }

    var description: String {
        let shownHost = host.contains(":") ? "[\(host)]" : host
        let isDefault = (scheme == "http" && port == 80) || (scheme == "https" && port == 443)
        return isDefault ? "\(scheme)://\(shownHost)" : "\(scheme)://\(shownHost):\(port)"
    }
}

/// `host[:port]`, `[v6]:port` splitting for `Host` headers, origins and allow-list entries.
enum HostAndPort {
    /// The lowercased host (IPv6 without brackets, no trailing dot) and the port (or `defaultPort`); nil
    /// when malformed. A port of `*` is returned as -1 (allow-list patterns only).
    static func split(_ text: some StringProtocol, defaultPort: Int, allowsAnyPort: Bool = false) -> (String, Int)? {
        let text = String(text)
        var host: Substring
        var portText: Substring?
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { return nil }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { return nil }
                portText = rest.dropFirst()
            }
        } else if let colon = text.lastIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
            guard !host.contains(":") else { return nil }  // a bare IPv6 address must be bracketed
        } else {
            host = Substring(text)
        }
        if host.hasSuffix(".") { host = host.dropLast() }
        guard !host.isEmpty, !host.contains(" "), !host.contains("/") else { return nil }
        var port = defaultPort
        if let portText {
            if portText == "*" && allowsAnyPort {
                port = -1
            } else {
                guard let number = Int(portText), (1...65535).contains(number) else { return nil }
                port = number
            }
        }
        return (host.lowercased(), port)
    }
}
