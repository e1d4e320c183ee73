/// An `http://HOST[:PORT][/path]` URL: where the CLI finds the server, where the server finds the
/// application's back end (`native.rpc_url`).
public struct HTTPURL: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// The path, without a trailing slash ("" for none).
    public var pathPrefix: String

    /// Parses the URL; nil when it is not `http://` or the port is not a number.
    public init?(_ text: String) {
        guard text.hasPrefix("http://") else { return nil }
        var rest = Substring(text.dropFirst("http://".count))
        var prefix = ""
        if let slash = rest.firstIndex(of: "/") {
            prefix = String(rest[slash...])
            rest = rest[..<slash]
            while prefix.hasSuffix("/") { prefix.removeLast() }
        }
        var host = rest
        var port = 80
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
        "http://\(host.contains(":") ? "[\(host)]" : host):\(port)\(pathPrefix)"
    }
}
