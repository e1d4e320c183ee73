import SwitchboardHTTP

/// The bridge's named routes, an array of tables in the configuration file:
///
/// ```toml
/// [[bridge.route]]
/// path = "/irc"
/// target = "127.0.0.1:6667"
/// text = true          # optional: text frames allowed
/// origins = ["https://app.example"]   # optional: the Origins allowed (instead of bridge.origins)
/// auth = true          # optional: ?access_token= an API key or a signed token required
/// proxy_protocol = true   # optional: a PROXY v2 header tells the target the browser's address
/// ```
enum BridgeRoutes {
    /// Paths the server answers itself, which a route may not take.
    static let reservedPaths: Set<String> = [
        "/", "/stats", "/healthz", "/echo", "/stomp", "/stomp-chat", "/chat.css", "/socket.io/", "/socket.io",
        "/engine.io/", "/switchboard.js", "/switchboard.mjs", "/switchboard.d.ts",
    ]
    static let reservedPrefixes = ["/pub/", "/sub/", "/api/", "/connection/"]

    static func apply(
        _ document: TOMLDocument,
        source: String,
        to configuration: inout SwitchboardConfiguration
    ) -> [ConfigurationError] {
        guard let value = document.value(at: ["bridge", "route"]) else { return [] }
        guard case .array(let items) = value else {
            return [
                ConfigurationError(
                    source: source,
                    line: document.line(of: ["bridge", "route"]),
                    message: "bridge.route must be an array of tables ([[bridge.route]])"
                )
            ]
        }
        var errors: [ConfigurationError] = []
        var seen: Set<String> = []
        for (index, item) in items.enumerated() {
            let line = document.line(of: ["bridge", "route", String(index)])
            func problem(_ message: String) {
                errors.append(ConfigurationError(source: source, line: line, message: "bridge.route: " + message))
            }
            guard case .table(let table) = item else {
                problem("each route is a table with path and target")
                continue
            }
            let keys = ["path", "target", "text", "origins", "auth", "proxy_protocol"]
            for key in table.keys.sorted() where !keys.contains(key) {
                problem("unknown key \(key) (a route has \(keys.joined(separator: ", ")))")
            }
            guard case .string(let path)? = table["path"], path.hasPrefix("/"), !path.contains("?"),
                !path.contains(" ")
            else {
                problem("path must be a string starting with /, e.g. \"/irc\"")
                continue
            }
            if reservedPaths.contains(path) || reservedPrefixes.contains(where: path.hasPrefix) {
                problem("\(path) is one of the server's own paths")
                continue
            }
            guard seen.insert(path).inserted else {
                problem("\(path) is routed twice")
                continue
            }
            guard case .string(let targetText)? = table["target"], let target = BridgeAddress(parsing: targetText)
            else {
                problem("target must be \"HOST:PORT\", e.g. \"127.0.0.1:6667\"")
                continue
            }
            var flags: [String: Bool] = [:]
            for key in ["text", "auth", "proxy_protocol"] {
                guard let value = table[key] else { continue }
                if case .boolean(let flag) = value {
                    flags[key] = flag
                } else {
                    problem("\(key) must be true or false")
                }
            }
            var origins: [String]?
            if let value = table["origins"] {
                if case .array(let items) = value,
                    case let strings = items.compactMap({ item -> String? in
                        if case .string(let text) = item { return text }
                        return nil
                    }), strings.count == items.count
                {
                    origins = strings
                } else {
                    problem("origins must be an array of strings")
                }
            }
            configuration.httpFrontEnd.bridge.routes.append(
                BridgeConfiguration.Route(
                    path: path,
                    target: target,
                    text: flags["text"] ?? false,
                    origins: origins,
                    requiresAuthentication: flags["auth"] ?? false,
                    proxyProtocol: flags["proxy_protocol"] ?? false
                )
            )
        }
        return errors
    }
}
