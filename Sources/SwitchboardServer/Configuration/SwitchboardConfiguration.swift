public import SwitchboardAuth
public import SwitchboardBridge
public import SwitchboardCore
public import SwitchboardHTTP
public import SwitchboardSTOMP

/// The whole server configuration. Every field has a documented default (see `switchboard.toml`), so
/// `switchboard serve` runs with none given.
public struct SwitchboardConfiguration: Sendable {
    /// Where the HTTP/WebSocket listener binds.
    public var http = ListenAddress(host: "127.0.0.1", port: 8000)
    /// Event-loop threads; 0 means one per CPU core.
    public var threads = 0
    /// Seconds that connections get to say goodbye on shutdown before they are cut.
    public var shutdownTimeout: Double = 10
    /// The log level: trace, debug, info, notice, warning, error or critical.
    public var logLevel = "info"
    /// This node's name among the nodes of an engine (`server.node_id`); empty: random per start.
    public var nodeID = ""
    /// How other nodes reach this one (`server.advertise`); empty: the HTTP listener.
    public var advertise = ""
    /// Where channels live (`[engine]`).
    public var engine = EngineConfiguration()
    /// Messages kept per channel.
    public var historySize = 100
    /// Seconds a message is kept.
    public var historyTTL: Double = 3600
    /// Bytes that histories, queues and pending transactions may retain together (`limits.max_memory`).
    public var maxMemory = 1 << 30
    /// Most channels at once (`limits.max_channels`).
    public var maxChannels = 100_000
    /// Most connections at once across the listeners; nil = what the file-descriptor limit allows, minus
    /// a reserve (`limits.max_connections = 0`).
    public var maxConnections: Int?
    /// Most connections from one client address (for a trusted proxy's, the forwarded one).
    public var connectionsPerAddress = 1000
    /// The HTTP front end's limits, timings and access rules.
    public var httpFrontEnd = HTTPConfiguration()
    /// The WebSocket-to-TCP bridge (nothing bridged unless configured).
    public var bridge = BridgeConfiguration()
    /// Where the STOMP over TCP listener binds; nil = no listener.
    public var stomp: ListenAddress? = ListenAddress(host: "127.0.0.1", port: 61613)
    /// The STOMP broker's options (the body and name limits come from `limits.*`: see ``stompBroker``).
    public var stompFrontEnd = STOMPConfiguration()
    /// How signed tokens are checked: the HS256 secret and whether `exp` is required.
    public var tokens = TokenVerifier.Configuration()
    /// `security.jwks`: a JWK Set file, or the `https://` URL of one; empty = none.
    public var jwks = ""
    /// Seconds between fetches of a JWK Set URL.
    public var jwksRefresh: Double = 300
    /// Certificates (PEM) trusted for a JWK Set URL besides the system's; empty = the system's only.
    public var jwksCA = ""
    /// The certificate chain (PEM) served on the HTTP listener (https, wss); empty = plain HTTP.
    public var tlsCertificate = ""
    /// The private key (PEM) of ``tlsCertificate``.
    public var tlsKey = ""
    /// Whether the STOMP listener serves TLS too (with the same certificate).
    public var stompTLS = false
    /// The deprecated `stomp.users` (`"login:passcode"` strings, allowed everything), kept working.
    public var legacySTOMPUsers: [String] = []

    /// The defaults.
    public init() {}

    /// The STOMP broker's configuration, with the shared limits applied.
    public var stompBroker: STOMPConfiguration {
        var broker = stompFrontEnd
        broker.maxBodySize = httpFrontEnd.maxMessageSize
        broker.maxNameLength = httpFrontEnd.maxChannelNameLength
        broker.maxOutboundBytes = httpFrontEnd.maxOutboundBytes
        broker.policy = httpFrontEnd.policy
        broker.users += legacySTOMPUsers.compactMap(STOMPUser.init(legacy:))
        return broker
    }

    /// Whether the listeners have a certificate.
    public var usesTLS: Bool { !tlsCertificate.isEmpty }

    /// What is wrong across options (each option is checked on its own as it is read).
    public var problems: [String] {
        var problems: [String] = []
        if tlsCertificate.isEmpty != tlsKey.isEmpty {
            problems.append("tls.cert and tls.key go together: set both, or neither")
        }
        if stompTLS && (tlsCertificate.isEmpty || stomp == nil) {
            problems.append("stomp.tls needs tls.cert and tls.key, and a STOMP listener (stomp.listen)")
        }
        if engine.type == "redis" {
            if engine.redis.isEmpty {
                problems.append("engine.type = \"redis\" needs engine.redis, the Redis to use")
            } else if engine.redis.count > 1 {
                problems.append(
                    "engine.redis names \(engine.redis.count) Redis servers: sharding over several (and Redis Cluster) "
                        + "is not supported yet; name one"
                )
            }
        }
        return problems
    }

    /// What in the configuration works but is unsafe or deprecated, logged at start.
    public var warnings: [String] {
        var warnings: [String] = []
        if !legacySTOMPUsers.isEmpty {
            warnings.append(
                "stomp.users is deprecated: its logins may send and subscribe everywhere; use [[stomp.user]] "
                    + "tables with write and read lists (docs/security.md)"
            )
        }
        if !tokens.requireExpiry {
            warnings.append("security.token_require_exp is off: a token without exp is valid for ever")
        }
        if !tokens.secret.isEmpty, tokens.secret.utf8.count < 32 {
            warnings.append(
                "security.token_secret has \(tokens.secret.utf8.count) bytes: an HS256 secret under 32 random "
                    + "bytes can be found from one token by trying guesses offline (openssl rand -base64 32)"
            )
        }
        if !jwks.isEmpty, tokens.audience.isEmpty {
            warnings.append(
                "security.jwks is set without security.token_audience: any token the identity provider signed, "
                    + "for any application, is accepted here (set it, and security.token_issuer)"
            )
        }
        if httpFrontEnd.anonymousUsers {
            warnings.append(
                "security.anonymous_users is on: any client may claim any user name and receive that user's "
                    + "messages and calls; for development only"
            )
        }
        return warnings
    }

    /// The hub's part of the configuration.
    public var hub: Hub.Configuration {
        Hub.Configuration(
            historySize: historySize,
            historyTTLMilliseconds: Int64(historyTTL * 1000),
            maxChannels: maxChannels
        )
    }
}

/// A `HOST:PORT` to listen on (`[::1]:8000` for IPv6).
public struct ListenAddress: Sendable, Equatable, CustomStringConvertible {
    /// The host name or address.
    public var host: String
    /// The port; 0 lets the system choose.
    public var port: Int

    /// Creates an address.
    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `HOST:PORT`, `[IPV6]:PORT` or `:PORT` (host 127.0.0.1).
    public init?(parsing text: String) {
        var host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":") else {
                return nil
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else { return nil }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        if host.isEmpty { host = "127.0.0.1" }
        guard let port = Int(portText), (0...65535).contains(port), !host.contains(" ") else { return nil }
        self.host = String(host)
        self.port = port
    }

    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }
}

/// Where channels live: `[engine]`.
public struct EngineConfiguration: Sendable {
    /// `memory` (this process, the default) or `redis` (shared by every node on the same Redis).
    public var type = "memory"
    /// The Redis URLs (`engine.redis`).
    public var redis = ["redis://127.0.0.1:6379"]
    /// The prefix of every key and pub/sub channel (`engine.prefix`).
    public var prefix = "sb"

    public init() {}

    /// Whether nodes share channels through Redis.
    public var isShared: Bool { type == "redis" }
}
