/// An `http://HOST[:PORT][/path]` or `https://...` URL: where the CLI finds the server, where the server
/// finds the application's back end (`native.rpc_url`) or an identity provider's keys (`security.jwks`).
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The path, without a trailing slash ("" for none).
    public var pathPrefix: String
    /// Whether it is an `https://` URL.
    public var usesTLS: Bool

    /// Parses the URL; nil when it is not `http://` or `https://`, or the port is not a number.
    public init?(_ text: String) {
        let scheme: String
        if text.hasPrefix("http://") {
            scheme = "http://"
        } else if text.hasPrefix("https://") {
            scheme = "https://"
        } else {
            return nil
        }
        usesTLS = scheme == "https://"
        var rest = Substring(text.dropFirst(scheme.count))
        var prefix = ""
        if let slash = rest.firstIndex(of: "/") {
            prefix = String(rest[slash...])
            rest = rest[..<slash]
            while prefix.hasSuffix("/") { prefix.removeLast() }
        }
        var host = rest
        var port = usesTLS ? 443 : 80
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let parsed = Int(rest[rest.index(after: colon)...]), (1...65535).contains(parsed) else { return nil }
            host = rest[..<colon]
            port = parsed
        }
        if host.hasPrefix("[") && host.hasSuffix("]") { host = host.dropFirst().dropLast() }
        guard !host.isEmpty else { return nil }
        self.host = String(host)
        self.port = port
        self.pathPrefix = prefix
    }

    public var description: String {
        "\(usesTLS ? "https" : "http")://\(host.contains(":") ? "[\(host)]" : host):\(port)\(pathPrefix)"
    }
}
