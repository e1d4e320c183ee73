import SwitchboardAuth
import SwitchboardBridge
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardRedis
import SwitchboardSTOMP

extension ConfigurationOption {
    /// Every option, in the order of the sample file.
    public static let all: [ConfigurationOption] = [
        .string(
            "server.http",
            "HTTP and WebSocket listener, HOST:PORT",
            default: "127.0.0.1:8000",
            kind: .address,
            validate: OptionValidation.address
        ) {
            $0.http = ListenAddress(parsing: $1)!
        },
        .boolean(
            "server.chat",
            "serve the chat application at / and /stomp-chat (switchboard.js is always served)",
            default: true
        ) {
            $0.httpFrontEnd.servesChat = $1
        },
        .integer("server.threads", "event-loop threads; 0 = one per CPU core", default: 0, range: 0...1024) {
            $0.threads = $1
        },
        .number(
            "server.shutdown_timeout",
            "seconds connections get to say goodbye on shutdown",
            default: 10,
            range: 0...3600
        ) {
            $0.shutdownTimeout = $1
        },
        .string(
            "server.log_level",
            "trace, debug, info, notice, warning, error or critical",
            default: "info",
            validate: OptionValidation.logLevel
        ) {
            $0.logLevel = $1
        },
        .string(
            "server.node_id",
            "this node's name among the nodes sharing an engine; empty = a random one per start",
            default: "",
            validate: OptionValidation.nodeID
        ) {
            $0.nodeID = $1
        },
        .string(
            "server.advertise",
            "how other nodes reach this one, HOST:PORT; empty = the HTTP listener",
            default: "",
            validate: OptionValidation.addressOrEmpty
        ) {
            $0.advertise = $1
        },
        .integer(
            "channels.history_size",
            "messages kept per channel for resume and /api/history",
            default: 100,
            range: 0...1_000_000
        ) {
            $0.historySize = $1
        },
        .number("channels.history_ttl", "seconds a message is kept in history", default: 3600, range: 0...31_536_000) {
            $0.historyTTL = $1
        },
        .number(
            "channels.ping_interval",
            "seconds between keep-alive pings to subscribers",
            default: 25,
            range: 0.05...3600
        ) {
            $0.httpFrontEnd.pingInterval = $1
        },
        .number(
            "channels.longpoll_timeout",
            "seconds before an empty long-poll answers 204",
            default: 30,
            range: 0.05...3600
        ) {
            $0.httpFrontEnd.longPollTimeout = $1
        },
        .string(
            "channels.message_template",
            "chunk template of ?transport=stream (~id~ ~channel~ ~event-type~ ~content-type~ ~time~ ~text~)",
            default: "~text~\n"
        ) { $0.httpFrontEnd.messageTemplate = $1 },
        .string(
            "channels.ping_template",
            "keep-alive chunk of ?transport=stream; empty = message_template with event-type ping",
            default: ""
        ) { $0.httpFrontEnd.pingTemplate = $1 },
        .stringList(
            "channels.presence",
            "channel patterns (* and ?) where native-protocol connections are tracked as present, with join/leave pushes",
            default: ["*"]
        ) {
            $0.httpFrontEnd.presencePatterns = $1
        },
        .string(
            "engine.type",
            "where channels live: memory (this process) or redis (shared by every node on the same Redis)",
            default: "memory",
            validate: OptionValidation.engineType
        ) {
            $0.engine.type = $1
        },
        .stringList(
            "engine.redis",
            "the Redis of engine.type = \"redis\": redis://[user:password@]host:port[/db], or rediss:// for TLS",
            default: ["redis://127.0.0.1:6379"],
            validate: OptionValidation.redisURL
        ) {
            $0.engine.redis = $1
        },
        .string(
            "engine.prefix",
            "prefix of every Redis key and channel, so several deployments can share one Redis",
            default: "sb",
            validate: OptionValidation.redisPrefix
        ) {
            $0.engine.prefix = $1
        },
        .integer("limits.max_channel_name", "longest channel name, bytes", default: 255, range: 1...65535) {
            $0.httpFrontEnd.maxChannelNameLength = $1
        },
        .integer(
            "limits.max_channels_per_subscription",
            "most channels in one /sub/a,b,c",
            default: 64,
            range: 1...10000
        ) {
            $0.httpFrontEnd.maxChannelsPerSubscription = $1
        },
        .integer(
            "limits.max_message_size",
            "largest payload (HTTP body, WebSocket message), bytes",
            default: 1 << 20,
            range: 1...(1 << 30)
        ) {
            $0.httpFrontEnd.maxMessageSize = $1
        },
        .number(
            "limits.native_commands_per_second",
            "commands per second a native-protocol connection may send (bursts as large); 0 = no limit",
            default: 100,
            range: 0...1_000_000
        ) {
            $0.httpFrontEnd.nativeCommandsPerSecond = $1
        },
        .integer(
            "limits.max_outbound_bytes",
            "outbound queue per connection before it is closed as a slow consumer, bytes",
            default: 4 << 20,
            range: 1024...(1 << 31)
        ) { $0.httpFrontEnd.maxOutboundBytes = $1 },
        .integer(
            "limits.max_memory",
            "bytes all channel histories, queued messages and pending STOMP transactions may hold together; over it publishes are refused (507); clients' publishes may fill nine tenths, the rest is kept for the back end",
            default: 1 << 30,
            range: (1 << 20)...(1 << 40)
        ) { $0.maxMemory = $1 },
        .integer(
            "limits.max_channels",
            "most channels at once; a publish or subscription that would create one more takes the place of an empty channel (no subscribers, no history), or is refused",
            default: 100_000,
            range: 1...100_000_000
        ) { $0.maxChannels = $1 },
        .integer(
            "limits.max_connections",
            "most connections at once (HTTP, WebSocket, STOMP); 0 = the file-descriptor limit (raised to its hard limit at start) minus a reserve of a tenth (at least 256, at most half); more are refused with 503",
            default: 0,
            range: 0...10_000_000
        ) { $0.maxConnections = $1 == 0 ? nil : $1 },
        .integer(
            "limits.connections_per_address",
            "most connections from one client address (through a trusted proxy: the forwarded one); more are refused with 503",
            default: 1000,
            range: 1...10_000_000
        ) { $0.connectionsPerAddress = $1 },
        .number(
            "limits.header_timeout",
            "seconds a client gets to send a request's head once it started it (and its body's first bytes); 408 after",
            default: 10,
            range: 0.05...3600
        ) { $0.httpFrontEnd.headerTimeout = $1 },
        .number(
            "limits.idle_timeout",
            "seconds a kept-alive HTTP connection may wait for its next request, and a request body may take",
            default: 60,
            range: 0.05...86400
        ) { $0.httpFrontEnd.idleTimeout = $1 },
        .integer(
            "limits.max_request_line",
            "longest request target (URI), bytes; longer gets 414",
            default: 8 << 10,
            range: 64...(1 << 20)
        ) {
            $0.httpFrontEnd.maxRequestLine = $1
        },
        .integer(
            "limits.max_header_size",
            "largest request header section, bytes; larger gets 431",
            default: 16 << 10,
            range: 256...(1 << 20)
        ) {
            $0.httpFrontEnd.maxHeaderSize = $1
        },
        .boolean(
            "security.allow_loopback",
            "loopback clients may publish and use /api and /stats without a key",
            default: true
        ) {
            $0.httpFrontEnd.allowLoopback = $1
        },
        .stringList(
            "security.api_keys",
            "keys accepted as Authorization: Bearer KEY for publishing, /api and /stats",
            validate: OptionValidation.apiKey
        ) {
            $0.httpFrontEnd.apiKeys = $1
        },
        .stringList(
            "security.hosts",
            "Host names (NAME, NAME:PORT, *.DOMAIN, *) requests may carry; empty = on a loopback listener localhost, 127.0.0.1, [::1] and its address, else any",
            default: [],
            validate: OptionValidation.host
        ) {
            $0.httpFrontEnd.hosts = $1
        },
        .stringList(
            "security.origins",
            "browser origins (https://HOST[:PORT], https://*.DOMAIN, *) allowed on two-way endpoints and for CORS on the API, besides the same origin",
            default: [],
            validate: OptionValidation.origin
        ) {
            $0.httpFrontEnd.origins = $1
        },
        .stringList(
            "security.subscribe_origins",
            "browser origins allowed to subscribe with GET /sub/... (* = any)",
            default: ["*"],
            validate: OptionValidation.origin
        ) {
            $0.httpFrontEnd.subscribeOrigins = $1
        },
        .stringList(
            "security.trusted_proxies",
            "addresses or ranges (127.0.0.1, 10.0.0.0/8) of proxies whose forwarded_header is believed; requests through them never have the loopback privilege",
            default: [],
            validate: OptionValidation.proxy
        ) {
            $0.httpFrontEnd.trustedProxies = $1
        },
        .string(
            "security.forwarded_header",
            "the one header trusted proxies name the client in: x-forwarded-for, forwarded or x-real-ip (the others are ignored: a proxy passes them on as the client wrote them)",
            default: "x-forwarded-for",
            validate: OptionValidation.forwardingHeader
        ) {
            $0.httpFrontEnd.forwardingHeader = ForwardingHeader(rawValue: $1.lowercased()) ?? .xForwardedFor
        },
        .string(
            "security.token_secret",
            "HMAC secret of HS256 tokens (JWT: the user in sub, channels it may use in channels); empty = none",
            default: ""
        ) {
            $0.tokens.secret = $1
        },
        .string(
            "security.jwks",
            "RS256 / ES256 / EdDSA token keys: a JWK Set file, or its https:// URL (fetched at start and every jwks_refresh); empty = none",
            default: "",
            validate: OptionValidation.jwks
        ) {
            $0.jwks = $1
        },
        .number(
            "security.jwks_refresh",
            "seconds between fetches of a JWK Set URL (a failed fetch is retried every 10 s; the old keys stay)",
            default: 300,
            range: 1...86400
        ) {
            $0.jwksRefresh = $1
        },
        .string(
            "security.jwks_ca",
            "PEM file of certificates trusted for the JWK Set URL besides the system's; empty = the system's",
            default: ""
        ) {
            $0.jwksCA = $1
        },
        .boolean(
            "security.token_require_exp",
            "a token without exp is refused (turn off only for tokens that never expire)",
            default: true
        ) {
            $0.tokens.requireExpiry = $1
        },
        .string(
            "security.token_issuer",
            "the iss claim every token must carry (your identity provider's issuer URL); empty = not checked",
            default: ""
        ) {
            $0.tokens.issuer = $1
        },
        .string(
            "security.token_audience",
            "a value the aud claim of every token must contain (this service's name at the identity provider); empty = not checked",
            default: ""
        ) {
            $0.tokens.audience = $1
        },
        .boolean(
            "security.anonymous_users",
            "clients may name their user in connect without a token: for development only (anyone could claim anyone's messages); the user comes from a token or the connect hook otherwise",
            default: false
        ) {
            $0.httpFrontEnd.anonymousUsers = $1
        },
        .stringList(
            "security.client_publish",
            "channel patterns (* and ?) where every client may publish: the native protocol, Socket.IO, WebSocket subscribers' frames, STOMP SEND to /topic/ (the default lets the chat at / work); tokens may grant more",
            default: ["chat", "chat.*"]
        ) {
            $0.httpFrontEnd.policy.clientPublish = $1
        },
        .stringList(
            "security.client_subscribe",
            "channel patterns (* and ?) where every client may subscribe (and read history and presence); tokens may grant more",
            default: ["*"]
        ) {
            $0.httpFrontEnd.policy.clientSubscribe = $1
        },
        .stringList(
            "security.client_queues",
            "STOMP queue patterns (* and ?) every client may SEND to and consume; none by default (queues carry work for the back end's consumers: give them logins)",
            default: []
        ) {
            $0.httpFrontEnd.policy.clientQueues = $1
        },
        .string(
            "stomp.listen",
            "STOMP over TCP listener, HOST:PORT, or \"off\"",
            default: "127.0.0.1:61613",
            kind: .address,
            validate: OptionValidation.addressOrOff
        ) {
            $0.stomp = $1 == "off" ? nil : ListenAddress(parsing: $1)!
        },
        .boolean("stomp.websocket", "serve STOMP over WebSocket at /stomp on the HTTP listener", default: true) {
            $0.stompFrontEnd.webSocket = $1
        },
        .number(
            "stomp.heartbeat",
            "heart-beat interval the broker offers both ways, seconds; 0 = none",
            default: 10,
            range: 0...3600
        ) {
            $0.stompFrontEnd.heartBeat = $1
        },
        .boolean(
            "stomp.tls",
            "serve STOMP over TLS on stomp.listen, with the certificate of [tls]",
            default: false
        ) {
            $0.stompTLS = $1
        },
        .stringList(
            "stomp.users",
            "deprecated: \"login:passcode\" pairs that may send and subscribe everywhere; use [[stomp.user]] tables",
            validate: OptionValidation.user
        ) {
            $0.legacySTOMPUsers = $1
        },
        .number(
            "stomp.connect_timeout",
            "seconds a new STOMP connection gets to send CONNECT",
            default: 10,
            range: 0.05...3600
        ) {
            $0.stompFrontEnd.connectTimeout = $1
        },
        .integer(
            "stomp.max_transaction_bytes",
            "bytes one STOMP transaction may hold until COMMIT: bodies, headers and about 160 bytes per frame",
            default: 4 << 20,
            range: 0...(1 << 30)
        ) {
            $0.stompFrontEnd.maxTransactionBytes = $1
        },
        .integer(
            "stomp.max_transaction_frames",
            "frames one STOMP transaction may hold until COMMIT",
            default: 10_000,
            range: 1...1_000_000
        ) {
            $0.stompFrontEnd.maxTransactionFrames = $1
        },
        .integer(
            "stomp.prefetch",
            "unacknowledged messages per queue subscription without a prefetch-count header",
            default: 100,
            range: 1...1_000_000
        ) {
            $0.stompFrontEnd.prefetch = $1
        },
        .integer("stomp.max_subscriptions", "most subscriptions per STOMP connection", default: 256, range: 1...100_000)
        {
            $0.stompFrontEnd.maxSubscriptions = $1
        },
        .integer("stomp.max_headers", "most headers per STOMP frame", default: 64, range: 4...10_000) {
            $0.stompFrontEnd.maxHeaders = $1
        },
        .integer(
            "stomp.max_header_length",
            "longest STOMP command or header line, bytes",
            default: 8192,
            range: 64...(1 << 20)
        ) {
            $0.stompFrontEnd.maxHeaderLength = $1
        },
        .integer(
            "stomp.max_queue_length",
            "most messages waiting in one queue; a SEND beyond gets an ERROR",
            default: 10_000,
            range: 1...100_000_000
        ) {
            $0.stompFrontEnd.maxQueueLength = $1
        },
        .integer(
            "stomp.max_queue_bytes",
            "most body bytes waiting in one queue; a SEND beyond gets an ERROR",
            default: 16 << 20,
            range: 1...(1 << 40)
        ) {
            $0.stompFrontEnd.maxQueueBytes = $1
        },
        .integer(
            "stomp.max_queues",
            "most queues; a SEND that would make one more gets an ERROR",
            default: 10_000,
            range: 1...10_000_000
        ) {
            $0.stompFrontEnd.maxQueues = $1
        },
        .string(
            "native.rpc_url",
            "where native-protocol rpc commands are POSTed (http://HOST:PORT/PATH); empty = no RPC",
            default: "",
            validate: OptionValidation.httpURLOrEmpty
        ) {
            $0.httpFrontEnd.rpcURL = HTTPURL($1)
        },
        .string(
            "native.hook_url",
            "where native-protocol hooks are POSTed (connect, subscribe, publish, disconnect); empty = none",
            default: "",
            validate: OptionValidation.httpURLOrEmpty
        ) {
            $0.httpFrontEnd.hookURL = HTTPURL($1)
        },
        .stringList(
            "native.hooks",
            "the events the hook is asked about",
            default: ["connect", "subscribe", "publish", "disconnect"],
            validate: OptionValidation.hookEvent
        ) {
            $0.httpFrontEnd.hookEvents = Set($1)
        },
        .number("native.backend_timeout", "seconds the back end gets to answer an rpc", default: 5, range: 0.01...300) {
            $0.httpFrontEnd.backendTimeout = $1
        },
        .number(
            "native.connect_timeout",
            "seconds a native-protocol connection has to send connect (and have it accepted); then it is closed with code 4006; 0 = no limit",
            default: 10,
            range: 0...3600
        ) {
            $0.httpFrontEnd.nativeConnectTimeout = $1
        },
        .integer(
            "native.max_concurrent_calls",
            "rpc and hook requests to the back end one connection may have in flight; more get error 120",
            default: 8,
            range: 1...10_000
        ) {
            $0.httpFrontEnd.maxConcurrentCalls = $1
        },
        .boolean(
            "socketio.enabled",
            "serve Socket.IO (v4 clients: Engine.IO 4, Socket.IO 5) at /socket.io/",
            default: true
        ) {
            $0.httpFrontEnd.socketIO.enabled = $1
        },
        .stringList(
            "socketio.namespaces",
            "the namespaces Socket.IO clients may connect to",
            default: ["/"],
            validate: OptionValidation.namespace
        ) {
            $0.httpFrontEnd.socketIO.namespaces = $1
        },
        .number("socketio.ping_interval", "seconds between Engine.IO pings", default: 25, range: 0.05...3600) {
            $0.httpFrontEnd.socketIO.pingInterval = $1
        },
        .number(
            "socketio.ping_timeout",
            "seconds a client gets to answer a ping before it is disconnected",
            default: 20,
            range: 0.05...3600
        ) {
            $0.httpFrontEnd.socketIO.pingTimeout = $1
        },
        .integer(
            "socketio.max_payload",
            "largest Engine.IO payload in bytes (a polling POST, a WebSocket message)",
            default: 1_000_000,
            range: 64...(64 << 20)
        ) {
            $0.httpFrontEnd.socketIO.maxPayload = $1
        },
        .number(
            "socketio.connect_timeout",
            "seconds a new connection gets to join a namespace before it is closed",
            default: 45,
            range: 0.05...3600
        ) {
            $0.httpFrontEnd.socketIO.connectTimeout = $1
        },
        .integer("socketio.max_attachments", "most binary attachments in one packet", default: 10, range: 0...1000) {
            $0.httpFrontEnd.socketIO.maxAttachments = $1
        },
        .number(
            "socketio.recovery_window",
            "seconds a disconnected socket's rooms and missed messages are kept for connection state recovery; 0 = off",
            default: 0,
            range: 0...86400
        ) {
            $0.httpFrontEnd.socketIO.recoveryWindow = $1
        },
        .string(
            "socketio.hook_url",
            "where Socket.IO hooks are POSTed (connect, disconnect, client events); empty = none",
            default: "",
            validate: OptionValidation.httpURLOrEmpty
        ) {
            $0.httpFrontEnd.socketIO.hookURL = HTTPURL($1)
        },
        .stringList(
            "socketio.hooks",
            "the Socket.IO hooks in use",
            default: ["connect", "disconnect", "event"],
            validate: OptionValidation.socketIOHook
        ) {
            $0.httpFrontEnd.socketIO.hooks = Set($1)
        },
        .integer(
            "socketio.max_concurrent_calls",
            "events one socket may have at the event hook at once (more are refused in their acknowledgement), and connect and disconnect hook requests one connection may have at once (a CONNECT beyond gets connect_error)",
            default: 8,
            range: 1...10_000
        ) {
            $0.httpFrontEnd.socketIO.maxConcurrentCalls = $1
        },
        .string(
            "bridge.token_file",
            "websockify token file (name: host:port lines) for /websockify?token=NAME; empty = none",
            default: ""
        ) {
            $0.bridge.tokenFile = $1.isEmpty ? nil : $1
        },
        .stringList(
            "bridge.allow",
            "HOST:PORT or HOST:LOW-HIGH targets that /tcp?host=H&port=P may reach; empty = no /tcp",
            default: [],
            validate: OptionValidation.bridgeAllow
        ) {
            $0.bridge.allow = $1
        },
        .stringList(
            "bridge.origins",
            "Origins allowed on every bridged path (a route's origins replace it); empty = same origin and security.origins; [\"*\"] = any",
            default: []
        ) {
            $0.bridge.origins = $1
        },
        .boolean(
            "bridge.auth",
            "every bridged path needs ?access_token= (an API key or a signed token) unless its route says auth = false",
            default: false
        ) {
            $0.bridge.auth = $1
        },
        .number("bridge.connect_timeout", "seconds the TCP connect to a target may take", default: 5, range: 0.05...300)
        {
            $0.bridge.connectTimeout = $1
        },
        .number(
            "bridge.idle_timeout",
            "seconds without a byte either way before a bridged connection is closed; 0 = never",
            default: 300,
            range: 0...86400
        ) {
            $0.bridge.idleTimeout = $1
        },
        .integer(
            "bridge.max_connections_per_route",
            "most open bridged connections per route",
            default: 1000,
            range: 1...1_000_000
        ) {
            $0.bridge.maxConnectionsPerRoute = $1
        },
        .integer(
            "bridge.max_connections_per_address",
            "most open bridged connections per client address",
            default: 100,
            range: 1...1_000_000
        ) {
            $0.bridge.maxConnectionsPerAddress = $1
        },
        .string(
            "tls.cert",
            "certificate chain (PEM file) served on the HTTP listener: https and wss; read again on SIGHUP; empty = plain HTTP",
            default: ""
        ) {
            $0.tlsCertificate = $1
        },
        .string("tls.key", "private key (PEM file) of tls.cert", default: "") {
            $0.tlsKey = $1
        },
        .boolean(
            "testing.websocket_echo",
            "serve a WebSocket echo endpoint at /echo (for the Autobahn suite); keep off in production",
            default: false
        ) { $0.httpFrontEnd.webSocketEcho = $1 },
        .boolean(
            "testing.socketio_conformance",
            "answer like the socket.io-protocol / engine.io-protocol test servers (and echo at /engine.io/); keep off in production",
            default: false
        ) { $0.httpFrontEnd.socketIO.conformance = $1 },
    ]

    /// The option with TOML key `key`.
    public static func named(_ key: String) -> ConfigurationOption? {
        all.first { $0.key == key }
    }
}

/// swift-log's level names.
public enum LogLevelName {
    /// Every accepted name.
    public static let all = ["trace", "debug", "info", "notice", "warning", "error", "critical"]

    static func isValid(_ name: String) -> Bool { all.contains(name) }
}

/// Checks of option values that need more than a type: each returns what is wrong, or `nil`.
enum OptionValidation {
    @Sendable static func addressOrEmpty(_ text: String) -> String? {
        text.isEmpty ? nil : address(text)
    }

    @Sendable static func engineType(_ text: String) -> String? {
        ["memory", "redis"].contains(text) ? nil : "expected \"memory\" or \"redis\""
    }

    @Sendable static func nodeID(_ text: String) -> String? {
        text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == ".") })
            && text.count <= 64 ? nil : "letters, digits, '-', '_' and '.', at most 64"
    }

    @Sendable static func redisURL(_ text: String) -> String? {
        do {
            _ = try RedisEndpoint(url: text)
            return nil
        } catch {
            return error.description
        }
    }

    @Sendable static func redisPrefix(_ text: String) -> String? {
        !text.isEmpty && text.count <= 64
            && text.allSatisfy({ $0.isASCII && !$0.isWhitespace && $0 != "{" && $0 != "}" })
            ? nil : "1 to 64 ASCII characters, no spaces or braces"
    }

    @Sendable static func address(_ text: String) -> String? {
        ListenAddress(parsing: text) == nil ? "expected HOST:PORT, e.g. 127.0.0.1:8000" : nil
    }

    @Sendable static func addressOrOff(_ text: String) -> String? {
        text == "off" || ListenAddress(parsing: text) != nil
            ? nil : "expected HOST:PORT, e.g. 127.0.0.1:61613, or \"off\""
    }

    @Sendable static func user(_ text: String) -> String? {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else {
            return "users are \"login:passcode\", with a non-empty login"
        }
        return nil
    }

    @Sendable static func hookEvent(_ text: String) -> String? {
        ["connect", "subscribe", "publish", "disconnect"].contains(text)
            ? nil : "hook events are connect, subscribe, publish and disconnect"
    }

    @Sendable static func bridgeAllow(_ text: String) -> String? {
        BridgeConfiguration.problem(withAllowPattern: text)
    }

    @Sendable static func socketIOHook(_ text: String) -> String? {
        ["connect", "disconnect", "event"].contains(text) ? nil : "Socket.IO hooks are connect, disconnect and event"
    }

    @Sendable static func namespace(_ text: String) -> String? {
        text.hasPrefix("/") && !text.contains(",") && !text.contains(" ")
            ? nil : "a namespace starts with / and has no comma or space, e.g. \"/admin\""
    }

    @Sendable static func httpURLOrEmpty(_ text: String) -> String? {
        text.isEmpty || HTTPURL(text) != nil ? nil : "expected http://HOST:PORT/PATH, or \"\" for none"
    }

    @Sendable static func logLevel(_ text: String) -> String? {
        LogLevelName.isValid(text) ? nil : "must be one of \(LogLevelName.all.joined(separator: ", "))"
    }

    @Sendable static func host(_ text: String) -> String? { HTTPConfiguration.problem(withHost: text) }

    @Sendable static func forwardingHeader(_ text: String) -> String? {
        ForwardingHeader(rawValue: text.lowercased()) != nil
            ? nil : "must be one of \(ForwardingHeader.allCases.map(\.rawValue).joined(separator: ", "))"
    }

    @Sendable static func jwks(_ text: String) -> String? {
        guard text.hasPrefix("http://") || text.hasPrefix("https://") else { return nil }  // a file
        guard let url = HTTPURL(text) else { return "expected https://HOST[:PORT]/PATH or a file path" }
        if !url.usesTLS, !["localhost", "127.0.0.1", "::1"].contains(url.host) {
            return "a JWK Set URL must be https:// (http:// only on this machine)"
        }
        return nil
    }

    @Sendable static func origin(_ text: String) -> String? { HTTPConfiguration.problem(withOrigin: text) }

    @Sendable static func proxy(_ text: String) -> String? { HTTPConfiguration.problem(withProxy: text) }

    @Sendable static func apiKey(_ text: String) -> String? {
        text.isEmpty || text.contains(" ") ? "API keys must be non-empty and without spaces" : nil
    }
}
