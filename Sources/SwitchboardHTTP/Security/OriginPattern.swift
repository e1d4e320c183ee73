import Foundation

/// An entry of `security.origins` (or `security.subscribe_origins`, a bridge route's `origins`): `*`
/// (any origin), an origin (`https://app.example.com`, port optional), a subdomain wildcard
/// (`https://*.example.com`: any subdomain, not the name itself), or any port (`http://localhost:*`).
package struct OriginPattern: Sendable, Equatable {
    private enum Kind: Equatable {
        case any
        case origin(scheme: String, host: String, subdomains: Bool, port: Int?)
    }

    private let kind: Kind

    /// Parses an entry; nil when it is not one of the forms above.
    package init?(_ text: String) {
        let text = text.trimmingCharacters(in: [" ", "\t"])
        if text == "*" {
            kind = .any
            return
        }
        guard let separator = text.range(of: "://") else { return nil }
        let scheme = text[..<separator.lowerBound].lowercased()
        guard scheme == "http" || scheme == "https" else { return nil }
        var authority = text[separator.upperBound...]
        if authority.hasSuffix("/") { authority = authority.dropLast() }
        let subdomains = authority.hasPrefix("*.")
        if subdomains { authority = authority.dropFirst(2) }
        guard !authority.contains("/"),
            let (host, port) = HostAndPort.split(
                authority,
                defaultPort: scheme == "https" ? 443 : 80,
                allowsAnyPort: true
            ), !host.contains("*")
        else { return nil }
        kind = .origin(scheme: scheme, host: host, subdomains: subdomains, port: port == -1 ? nil : port)
    }

    /// Whether `origin` (nil: an `Origin` of `null` or a malformed one) matches.
    func matches(_ origin: WebOrigin?) -> Bool {
        switch kind {
        case .any:
            return true
        case .origin(let scheme, let host, let subdomains, let port):
            guard let origin, origin.scheme == scheme, port == nil || origin.port == port else { return false }
            return subdomains ? origin.host.hasSuffix("." + host) : origin.host == host
        }
    }

    /// What is wrong with an entry, or nil (configuration checks).
    package static func problem(with text: String) -> String? {
        OriginPattern(text) == nil
            ? "\"\(text)\" is not an origin: expected *, https://HOST[:PORT], https://*.DOMAIN or http://HOST:*"
            : nil
    }
}
