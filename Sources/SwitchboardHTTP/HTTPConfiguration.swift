public import SwitchboardCore

/// What the HTTP front end needs to know: limits, timings and access rules. Every field has the
/// documented default; `SwitchboardServer` fills it from the configuration file, environment and flags.
public struct HTTPConfiguration: Sendable {
    /// Longest channel name, in bytes.
    public var maxChannelNameLength = ChannelName.defaultMaxLength
    /// Most channels in one subscription (`/sub/a,b,c`).
    public var maxChannelsPerSubscription = 64
    /// Largest payload (HTTP body or WebSocket message), in bytes.
    public var maxMessageSize = 1 << 20
    /// Largest outbound queue of one connection, in bytes, before it is ended as a slow consumer.
    public var maxOutboundBytes = 4 << 20
    /// Longest request target (URI), in bytes; longer gets `414`.
    public var maxRequestLine = 8 << 10
    /// Largest header section, in bytes; larger gets `431`.
    public var maxHeaderSize = 16 << 10
    /// Seconds a client gets to send a request head once its first byte came (and the body's first bytes
    /// after the head); `408` after.
    public var headerTimeout: Double = 10
    /// Seconds a kept-alive connection may wait for its next request, and a request body may take.
    public var idleTimeout: Double = 60
    /// Seconds between keep-alive pings on subscriber connections.
    public var pingInterval: Double = 25
    /// Seconds before an empty long-poll ends with `204`.
    public var longPollTimeout: Double = 30
    /// The chunk template of `?transport=stream`.
    public var messageTemplate = "~text~\n"
    /// The keep-alive chunk of `?transport=stream`; empty means the message template with event type `ping`.
    public var pingTemplate = ""
    /// Whether loopback clients may publish and use the API without a key.
    public var allowLoopback = true
    /// Keys accepted in `Authorization: Bearer <key>` for publishing and the API.
    public var apiKeys: [String] = []
    /// The `Host` names requests may carry (`security.hosts`); empty = any. The server puts the loopback
    /// names here when it listens on a loopback address and none are configured (DNS rebinding).
    public var hosts: [String] = []
    /// Browser origins allowed on two-way endpoints and for CORS on the API, besides the same origin.
    public var origins: [String] = []
    /// Browser origins allowed to subscribe (`GET /sub/...`); `*` = any.
    public var subscribeOrigins = ["*"]
    /// Addresses (or ranges) of proxies whose forwarding headers are believed.
    public var trustedProxies: [String] = []
    /// The header a trusted proxy names its client in (`security.forwarded_header`).
    public var forwardingHeader = ForwardingHeader.xForwardedFor
    /// Whether the listener serves TLS (https, wss).
    public var usesTLS = false
    /// Who may publish and subscribe where (`security.client_publish`, `security.client_subscribe`); the
    /// default lets the chat application at `/` publish into its rooms.
    public var policy = ChannelPolicy()
    /// Glob patterns of channels where native-protocol connections are tracked as present, with join and
    /// leave pushes.
    public var presencePatterns: [String] = ["*"]
    /// Commands per second one native-protocol connection may send (0 = no limit).
    public var nativeCommandsPerSecond: Double = 100
    /// Where native-protocol `rpc` commands go (`POST` with JSON); nil = no RPC.
    public var rpcURL: HTTPURL?
    /// Seconds the back end gets to answer.
    public var backendTimeout: Double = 5
    /// Seconds a native-protocol connection has to connect (`native.connect_timeout`); 0 = no limit.
    public var nativeConnectTimeout: Double = 10
    /// Requests to the back end (`rpc` and hooks) one native-protocol connection may have in flight.
    public var maxConcurrentCalls = 8
    /// Where native-protocol hooks are POSTed; nil = no hooks.
    public var hookURL: HTTPURL?
    /// The events the hook is asked about: `connect`, `subscribe`, `publish`, `disconnect`.
    public var hookEvents: Set<String> = ["connect", "subscribe", "publish", "disconnect"]
    /// Whether native-protocol clients may name their user in `connect` without a token (development
    /// only: anyone could then claim anyone's messages and calls).
    public var anonymousUsers = false
    /// Serves the WebSocket echo endpoint `/echo`, for the Autobahn conformance suite.
    public var webSocketEcho = false
    /// Whether the chat application is served at `/` and `/stomp-chat`.
    public var servesChat = true
    /// Socket.IO at `/socket.io/`.
    public var socketIO = SocketIOConfiguration()

    /// The documented defaults.
    public init() {}

    /// What is wrong with a `security.origins` entry, or nil.
    public static func problem(withOrigin text: String) -> String? { OriginPattern.problem(with: text) }

    /// What is wrong with a `security.hosts` entry, or nil.
    public static func problem(withHost text: String) -> String? { HostAllowList.problem(with: text) }

    /// What is wrong with a `security.trusted_proxies` entry, or nil.
    public static func problem(withProxy text: String) -> String? {
        IPRange(text) == nil ? "\"\(text)\" is not an address or range (e.g. 127.0.0.1, 10.0.0.0/8, ::1)" : nil
    }

    /// Puts the loopback names in ``hosts`` when none are configured and the listener (`host`) is on a
    /// loopback address: a browser page whose name was pointed at it must not be answered.
    public mutating func applyHostDefault(listenerHost: String) {
        guard hosts.isEmpty else { return }
        let isLoopback = listenerHost.lowercased() == "localhost" || (IPAddress(listenerHost)?.isLoopback ?? false)
        if isLoopback { hosts = HostAllowList.loopbackDefault(listenerHost: listenerHost) }
    }

    /// Whether presence is tracked on `channel`.
    public func tracksPresence(on channel: ChannelName) -> Bool {
        presencePatterns.contains { GlobPattern.matches($0, channel.rawValue) }
    }
}
