public import Atomics
public import NIOCore
public import SwitchboardCore

/// Everything the STOMP connections share: the hub, the queues, the configuration, the topic wire
/// formats registered with the hub, counters and the open connections (for graceful shutdown).
public final class STOMPService: Sendable {
    /// The hub's wire formats for topic `MESSAGE`s, one per header escaping.
    public struct Formats: Sendable {
        let v10: WireFormat
        let v11: WireFormat
        let v12: WireFormat

        func format(for version: STOMPVersion) -> WireFormat {
            switch version {
            case .v10: return v10
            case .v11: return v11
            case .v12: return v12
            }
        }
    }

    /// Counts for `/stats`.
    public struct Counters: Sendable {
        public let tcpConnections = ManagedAtomic<Int>(0)
        public let webSocketConnections = ManagedAtomic<Int>(0)
        public let topicSubscriptions = ManagedAtomic<Int>(0)
        public let queueSubscriptions = ManagedAtomic<Int>(0)
        public let framesReceived = ManagedAtomic<Int>(0)
        public let errorsSent = ManagedAtomic<Int>(0)
    }

    public let hub: Hub
    public let configuration: STOMPConfiguration
    public let queues: QueueStore
    public let counters = Counters()
    /// The open STOMP connections (TCP and WebSocket), for graceful shutdown.
    public let connections = ConnectionRegistry()
    let formats: Formats
    let encoders: [STOMPVersion: TopicMessageEncoder]
    let sessionConfiguration: STOMPSession.Configuration

    /// Registers the topic encoders in `registry`; build the hub with it, then the service.
    public static func registerFormats(in registry: inout WireFormatRegistry) -> Formats {
        Formats(
            v10: registry.register(TopicMessageEncoder(escaping: .none)),
            v11: registry.register(TopicMessageEncoder(escaping: .v11)),
            v12: registry.register(TopicMessageEncoder(escaping: .v12))
        )
    }

    public init(hub: Hub, configuration: STOMPConfiguration, formats: Formats) {
        self.hub = hub
        self.configuration = configuration
        self.formats = formats
        self.queues = QueueStore(limits: configuration.queueLimits, memory: hub.memory, clock: hub.clock)
        self.sessionConfiguration = configuration.session
        var encoders: [STOMPVersion: TopicMessageEncoder] = [:]
        for version in STOMPVersion.allCases { encoders[version] = TopicMessageEncoder(escaping: version.escaping) }
        self.encoders = encoders
    }

    /// The handler for a new STOMP connection (TCP when `framing` is nil).
    public func makeHandler(framing: STOMPConnectionHandler.Framing? = nil) -> STOMPConnectionHandler {
        STOMPConnectionHandler(service: self, framing: framing)
    }

    /// Records a new connection; counted by transport until it closes.
    public func connectionOpened(_ channel: any Channel, webSocket: Bool) {
        let counter = webSocket ? counters.webSocketConnections : counters.tcpConnections
        connections.add(channel, counting: counter)
    }

    /// The answer to a connection refused by the connection limits: an `ERROR` frame, raw bytes.
    public static func refusal(_ message: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        let frame = STOMPFrame(
            "ERROR",
            headers: [("message", "too many connections"), ("content-type", "text/plain")],
            body: ByteBuffer(string: message)
        )
        return STOMPFrameEncoder.encode(frame, escaping: .none)
    }

    /// Upkeep: forgets idle queues (call once a second).
    public func sweep() {
        queues.sweep()
    }
}
