package import Atomics
public import NIOCore
package import SwitchboardAuth
public import SwitchboardCore
import Synchronization

/// What every HTTP connection shares, whichever front end serves it: the hub, the configuration, the wire
/// formats registered with the hub, the security policy, counters, timers, the back end, and the open
/// connections for graceful shutdown — and the front ends, each with its own state (``HTTPFrontEnd``),
/// with the router that asks them.
public final class HTTPService: Sendable {
    /// Connection counts by transport, for `/stats`.
    public struct Counters: Sendable {
        package let http = ManagedAtomic<Int>(0)
        package let webSocket = ManagedAtomic<Int>(0)
        package let sse = ManagedAtomic<Int>(0)
        package let stream = ManagedAtomic<Int>(0)
        package let longPoll = ManagedAtomic<Int>(0)
        package let native = ManagedAtomic<Int>(0)
    }

    /// The hub's wire formats that `/sub`'s transports encode messages into (each front end registers
    /// its own).
    public struct Formats: Sendable {
        let webSocketRaw: WireFormat
        let webSocketMeta: WireFormat
        let sse: WireFormat
        let stream: WireFormat
    }

    public let hub: Hub
    /// How long a connection being closed by the server (slow consumer, deleted channel, shutdown) gets to
    /// take in what is already queued, its goodbye included, before it is cut off.
    package static let goodbyeTimeout = TimeAmount.seconds(30)
    public let configuration: HTTPConfiguration
    /// Who may ask what (Host, Origin, the loopback privilege, trusted proxies).
    package let security: RequestSecurity
    let formats: Formats
    package let counters = Counters()
    let streamTemplate: StreamTemplateEncoder
    /// The keep-alive chunk of `?transport=stream`: `pingTemplate`, or the message template when empty.
    let streamPingTemplate: StreamTemplateEncoder
    let startedAt = NIODeadline.now()
    package let allocator = ByteBufferAllocator()
    /// Back-end calls to pages waiting for an answer.
    package let calls = CallRegistry()
    /// The front ends' HTTP surfaces, asked in this order before the core's routes (the bridge's exact
    /// paths first).
    let frontEnds: [any HTTPFrontEnd]
    /// Routes requests: the front ends', then the core's.
    let router: Router
    /// The way to the application's back end (native-protocol `rpc`).
    package let backend: (any BackendCaller)?
    /// Checks the signed tokens clients show; nil when no key is configured.
    package let tokens: TokenVerifier?
    /// The open connections, for graceful shutdown.
    public let connections = ConnectionRegistry()
    private let keepAliveTimers = Mutex<[ObjectIdentifier: NIOLoopBound<KeepAliveTimer>]>([:])

    /// Tells the front ends the server is going away: their sessions that are not channels (long-poll
    /// sessions; the connection registry does not reach them) answer their waiting polls with the goodbye.
    public func shutdownLongPollSessions() {
        for frontEnd in frontEnds { frontEnd.serverShuttingDown() }
    }

    /// Registers the encoders of `/sub`'s transports in `registry` (front ends register theirs when
    /// SwitchboardServer makes them); build the hub with the registry, then the service with the formats.
    public static func registerFormats(
        in registry: inout WireFormatRegistry,
        configuration: HTTPConfiguration
    ) -> Formats {
        Formats(
            webSocketRaw: registry.register(WebSocketMessageEncoder(includesMetadata: false)),
            webSocketMeta: registry.register(WebSocketMessageEncoder(includesMetadata: true)),
            sse: registry.register(SSEEncoder()),
            stream: registry.register(StreamTemplateEncoder(template: configuration.messageTemplate))
        )
    }

    /// Creates the service. `frontEnds`: the front ends, each in its module (the bridge, the native
    /// protocol, Socket.IO, STOMP over WebSocket), asked in this order before the core's routes.
    package init(
        hub: Hub,
        configuration: HTTPConfiguration,
        formats: Formats,
        frontEnds: [any HTTPFrontEnd] = [],
        backend: (any BackendCaller)? = nil,
        tokens: TokenVerifier? = nil
    ) {
        self.hub = hub
        self.backend = backend
        self.tokens = tokens
        self.configuration = configuration
        self.security = RequestSecurity(configuration: configuration)
        self.formats = formats
        self.frontEnds = frontEnds
        self.router = Router(
            maxChannelNameLength: configuration.maxChannelNameLength,
            maxChannelsPerSubscription: configuration.maxChannelsPerSubscription,
            echoEnabled: configuration.webSocketEcho,
            servesChat: configuration.servesChat,
            frontEnds: frontEnds
        )
        self.streamTemplate = StreamTemplateEncoder(template: configuration.messageTemplate)
        self.streamPingTemplate =
            configuration.pingTemplate.isEmpty
            ? streamTemplate : StreamTemplateEncoder(template: configuration.pingTemplate)
    }

    // MARK: Connections

    /// The keep-alive timer of `eventLoop` (created on first use). Call on that loop.
    package func keepAliveTimer(on eventLoop: any EventLoop) -> KeepAliveTimer {
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
