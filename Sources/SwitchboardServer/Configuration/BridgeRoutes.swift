import SwitchboardBridge
import SwitchboardHTTP

/// The bridge's named routes, an array of tables in the configuration file:
///
/// ```toml
/// [[bridge.route]]
/// path = "/irc"
/// target = "127.0.0.1:6667"
/// text = true          # optional: text frames allowed
/// origins = ["https://app.example"]   # optional: the Origins allowed (instead of bridge.origins)
/// auth = true          # optional: ?access_token= an API key or a signed token required (default bridge.auth)
/// proxy_protocol = true   # optional: a PROXY v2 header tells the target the browser's address
/// ```
enum BridgeRoutes {
    /// Paths the server answers itself, which a route may not take.
    static let reservedPaths: Set<String> = [
        "/", "/stats", "/healthz", "/echo", "/stomp", "/stomp-chat", "/chat.css", "/socket.io/", "/socket.io",
        "/engine.io/", "/switchboard.js", "/switchboard.mjs", "/switchboard.d.ts",
    ]
    static let reservedPrefixes = ["/pub/", "/sub/", "/api/", "/connection/"]

    static let tables = TableArray(
        path: ["bridge", "route"],
        keys: ["path", "target", "text", "origins", "auth", "proxy_protocol"],
        what: "path and target"
    )

    static func apply(
        _ document: TOMLDocument,
        source: String,
        to configuration: inout SwitchboardConfiguration
    ) -> [ConfigurationError] {
        var seen: Set<String> = []
        var routes: [BridgeConfiguration.Route] = []
        let errors = tables.forEach(in: document, source: source) { entry in
            guard let path = entry.string("path"), path.hasPrefix("/"), !path.contains("?"), !path.contains(" ")
            else {
                entry.problem("path must be a string starting with /, e.g. \"/irc\"")
                return
            }
            if reservedPaths.contains(path) || reservedPrefixes.contains(where: path.hasPrefix) {
                entry.problem("\(path) is one of the server's own paths")
                return
            }
            guard seen.insert(path).inserted else {
                entry.problem("\(path) is routed twice")
                return
            }
            guard let targetText = entry.string("target"), let target = BridgeAddress(parsing: targetText) else {
                entry.problem("target must be \"HOST:PORT\", e.g. \"127.0.0.1:6667\"")
                return
            }
            routes.append(
                BridgeConfiguration.Route(
                    path: path,
                    target: target,
                    text: entry.bool("text") ?? false,
                    origins: entry.strings("origins"),
                    requiresAuthentication: entry.bool("auth"),
                    proxyProtocol: entry.bool("proxy_protocol") ?? false
                )
            )
        }
        configuration.bridge.routes += routes
        return errors
    }
}
