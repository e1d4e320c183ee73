import Atomics
public import NIOCore
public import SwitchboardAuth
public import SwitchboardCore
public import SwitchboardSTOMP
import Synchronization

/// Everything the HTTP front end's connections share: the hub, the configuration, the wire formats
/// registered with the hub, counters, and the list of open connections for graceful shutdown.
public final class HTTPService: Sendable {
    /// Connection counts by transport, for `/stats`.
    public struct Counters: Sendable {
        let http = ManagedAtomic<Int>(0)
        let webSocket = ManagedAtomic<Int>(0)
        let sse = ManagedAtomic<Int>(0)
        let stream = ManagedAtomic<Int>(0)
        let longPoll = ManagedAtomic<Int>(0)
        let native = ManagedAtomic<Int>(0)
    }

    /// The hub's wire formats that this front end encodes messages into.
    public struct Formats: Sendable {
        let webSocketRaw: WireFormat
        let webSocketMeta: WireFormat
        let sse: WireFormat
        let stream: WireFormat
        let native: WireFormat
        let nativeSSE: WireFormat
        let nativeJSON: WireFormat
        /// Socket.IO events, one format per namespace.
        let socketIONamespaces: [String: WireFormat]

        /// The Socket.IO event format of `namespace` (a configured one).
        func socketIO(namespace: String) -> WireFormat {
            socketIONamespaces[namespace] ?? socketIONamespaces["/"]!
        }

        /// The native push format for `framing`.
        func native(_ framing: NativeFraming) -> WireFormat {
            switch framing {
            case .webSocket: native
            case .sse: nativeSSE
            case .longPoll: nativeJSON
            }
        }
    }

    public let hub: Hub
    /// The STOMP broker, for its statistics and (when its configuration says so) STOMP over WebSocket.
    public let stomp: STOMPService?
    /// How long a connection being closed by the server (slow consumer, deleted channel, shutdown) gets to
    /// take in what is already queued, its goodbye included, before it is cut off.
    static let goodbyeTimeout = TimeAmount.seconds(30)
    public let configuration: HTTPConfiguration
    /// Who may ask what (Host, Origin, the loopback privilege, trusted proxies).
    let security: RequestSecurity
    let formats: Formats
    let counters = Counters()
    let streamTemplate: StreamTemplateEncoder
    /// The keep-alive chunk of `?transport=stream`: `pingTemplate`, or the message template when empty.
    let streamPingTemplate: StreamTemplateEncoder
    let startedAt = NIODeadline.now()
    let allocator = ByteBufferAllocator()
    /// The native-protocol connections by user and client id.
    let users = UserRegistry()
    /// Back-end calls to pages waiting for an answer.
    let calls = CallRegistry()
    /// Native-protocol connections on the fallbacks (SSE, long-poll), by session id, for
    /// `POST /connection/send` and `GET /connection/poll`.
    let nativeSessions = NativeSessionRegistry()
    /// Socket.IO at `/socket.io/` (nil when `socketio.enabled` is off), and the conformance configuration's
    /// Engine.IO echo at `/engine.io/`.
    let engineIO: EngineIOServer?
    let engineIOEcho: EngineIOServer?
    /// The WebSocket-to-TCP bridge, when any route is configured.
    let bridge: BridgeService?
    /// The connected Socket.IO sockets, and the state kept for their recovery.
    let socketIO = SocketIORegistry()
    var socketIOConfiguration: SocketIOConfiguration { configuration.socketIO }
    /// The way to the application's back end (native-protocol `rpc`).
    let backend: (any BackendCaller)?
    /// Checks the signed tokens clients show; nil when no key is configured.
    let tokens: TokenVerifier?
    /// The open connections, for graceful shutdown.
    public let connections = ConnectionRegistry()
    private let keepAliveTimers = Mutex<[ObjectIdentifier: NIOLoopBound<KeepAliveTimer>]>([:])

    /// Tells the native protocol's long-poll sessions the server is going away (they are not channels, so
    /// the connection registry does not reach them): their waiting polls answer with the goodbye.
    public func shutdownLongPollSessions() {
        nativeSessions.shutdown()
        engineIO?.shutdown()
        engineIOEcho?.shutdown()
    }

    /// Registers this front end's encoders in `registry`; build the hub with the registry, then call
    /// ``init(hub:configuration:formats:)`` with the returned formats.
    public static func registerFormats(
        in registry: inout WireFormatRegistry,
        configuration: HTTPConfiguration
    ) -> Formats {
        Formats(
            webSocketRaw: registry.register(WebSocketMessageEncoder(includesMetadata: false)),
            webSocketMeta: registry.register(WebSocketMessageEncoder(includesMetadata: true)),
            sse: registry.register(SSEEncoder()),
            stream: registry.register(StreamTemplateEncoder(template: configuration.messageTemplate)),
            native: registry.register(NativePushEncoder(framing: .webSocket)),
            nativeSSE: registry.register(NativePushEncoder(framing: .sse)),
            nativeJSON: registry.register(NativePushEncoder(framing: .longPoll)),
            socketIONamespaces: Dictionary(
                uniqueKeysWithValues: Set(configuration.socketIO.namespaces + ["/"]).sorted().map { namespace in
                    let encoder = SocketIOEventEncoder(
                        namespace: namespace,
                        includesOffset: configuration.socketIO.recoveryWindow > 0
                    )
                    return (namespace, registry.register(encoder))
                }
            )
        )
    }

    /// Creates the service.
    public init(
        hub: Hub,
        configuration: HTTPConfiguration,
        formats: Formats,
        stomp: STOMPService? = nil,
        backend: (any BackendCaller)? = nil,
        tokens: TokenVerifier? = nil,
        connector: any TCPConnector
    ) {
        self.hub = hub
        self.backend = backend
        self.tokens = tokens
        self.stomp = stomp
        self.configuration = configuration
        self.security = RequestSecurity(configuration: configuration)
        self.formats = formats
        self.bridge =
            configuration.bridge.isEnabled
            ? BridgeService(configuration: configuration.bridge, connector: connector) : nil
        let engineConfiguration = EngineIOConfiguration(configuration.socketIO)
        self.engineIO =
            configuration.socketIO.enabled
            ? EngineIOServer(application: .socketIO, configuration: engineConfiguration) : nil
        self.engineIOEcho =
            configuration.socketIO.conformance
            ? EngineIOServer(application: .echo, configuration: engineConfiguration) : nil
        self.streamTemplate = StreamTemplateEncoder(template: configuration.messageTemplate)
        self.streamPingTemplate =
            configuration.pingTemplate.isEmpty
            ? streamTemplate : StreamTemplateEncoder(template: configuration.pingTemplate)
    }

    // MARK: Connections

    /// The keep-alive timer of `eventLoop` (created on first use). Call on that loop.
    func keepAliveTimer(on eventLoop: any EventLoop) -> KeepAliveTimer {
        let interval = TimeAmount.milliseconds(Int64(configuration.pingInterval * 1000))
        return keepAliveTimers.withLock { timers in
            if let timer = timers[ObjectIdentifier(eventLoop)] { return timer }
            let timer = NIOLoopBound(KeepAliveTimer(eventLoop: eventLoop, interval: interval), eventLoop: eventLoop)
            timers[ObjectIdentifier(eventLoop)] = timer
            return timer
        }.value
    }

    /// Records a newly accepted connection (for graceful shutdown).
    public func connectionOpened(_ channel: any Channel) {
        connections.add(channel, counting: counters.http)
    }
}
