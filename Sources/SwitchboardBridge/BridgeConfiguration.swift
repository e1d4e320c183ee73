import Foundation
import SwitchboardHTTP

/// The WebSocket-to-TCP bridge's settings (`[bridge]`, `[[bridge.route]]`): which TCP targets browsers
/// may reach, and how. Nothing is bridged unless configured: the bridge is denied by default.
public struct BridgeConfiguration: Sendable {
    /// A named route: WebSocket `path` → TCP `target`.
    public struct Route: Sendable, Equatable {
        public var path: String
        public var target: BridgeAddress
        /// Whether text frames are accepted (sent to the target as their UTF-8 bytes), for line protocols
        /// like IRC; otherwise a text frame closes the connection with 1003, as websockify does.
        public var text: Bool
        /// The `Origin`s allowed to open it (empty = the server's Origin policy; `["*"]` = any;
        /// `bridge.origins` applies when nil).
        public var origins: [String]?
        /// Whether a credential is required: `?access_token=` an API key or a signed token (browsers
        /// cannot set headers on a WebSocket); nil = as `bridge.auth` says.
        public var requiresAuthentication: Bool?
        /// Whether the target gets a PROXY protocol v2 header first, with the browser's address.
        public var proxyProtocol: Bool

        public init(
            path: String,
            target: BridgeAddress,
            text: Bool = false,
            origins: [String]? = nil,
            requiresAuthentication: Bool? = nil,
            proxyProtocol: Bool = false
        ) {
            self.path = path
            self.target = target
            self.text = text
            self.origins = origins
            self.requiresAuthentication = requiresAuthentication
            self.proxyProtocol = proxyProtocol
        }
    }

    /// Named routes.
    public var routes: [Route] = []
    /// A websockify token file (`name: host:port` lines) for `/websockify?token=NAME`; nil = no tokens.
    public var tokenFile: String?
    /// `HOST:PORT` or `HOST:LOW-HIGH` patterns that `/tcp?host=H&port=P` may reach; empty = no `/tcp`.
    public var allow: [String] = []
    /// The `Origin`s allowed on every bridged path; empty = the server's Origin policy (same origin and
    /// `security.origins`); `["*"]` = any. A route's own list replaces it.
    public var origins: [String] = []
    /// Whether every bridged path needs a credential (`?access_token=`) unless its route says otherwise.
    public var auth = false
    /// Seconds the TCP connect may take.
    public var connectTimeout: Double = 5
    /// Seconds without a byte either way before a bridged connection is closed (0 = never).
    public var idleTimeout: Double = 300
    /// Most open bridged connections per route (a named route, `/websockify`, `/tcp`).
    public var maxConnectionsPerRoute = 1000
    /// Most open bridged connections per client address.
    public var maxConnectionsPerAddress = 100

    public init() {}

    /// What is wrong with an allow-list pattern, or nil.
    public static func problem(withAllowPattern pattern: String) -> String? {
        BridgeAllowList.problem(with: pattern)
    }

    /// Whether anything is bridged at all.
    public var isEnabled: Bool { !routes.isEmpty || tokenFile != nil || !allow.isEmpty }
}

/// A TCP target: `HOST:PORT` (or `[IPV6]:PORT`).
public struct BridgeAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT` or `[IPV6]:PORT`; nil when malformed or the port is not 1...65535.
    public init?(parsing text: some StringProtocol) {
        let text = String(text).trimmingCharacters(in: [" ", "\t"])
        let hostPart: Substring
        let portPart: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            hostPart = text[text.index(after: text.startIndex)..<close]
            portPart = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            hostPart = text[..<colon]
            portPart = text[text.index(after: colon)...]
        }
        guard !hostPart.isEmpty, !hostPart.contains(" "), let port = Int(portPart), (1...65535).contains(port)
        else { return nil }
        self.host = String(hostPart)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}
