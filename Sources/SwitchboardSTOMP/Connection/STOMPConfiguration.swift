public import SwitchboardCore

/// What the STOMP front end needs to know; every field has the documented default (docs/stomp.md).
public struct STOMPConfiguration: Sendable {
    /// Serves STOMP over WebSocket at `/stomp` on the HTTP listener.
    public var webSocket = true
    /// The heart-beat interval the server offers, in seconds (0 = none).
    public var heartBeat: Double = 10
    /// The logins `CONNECT` must match (`[[stomp.user]]`); empty = anonymous connections.
    public var users: [STOMPUser] = []
    /// Who may send and subscribe where (`security.client_publish`, `security.client_subscribe`).
    public var policy = ChannelPolicy()
    /// Seconds a new connection gets to send `CONNECT`.
    public var connectTimeout: Double = 10
    /// Most body bytes one transaction may hold.
    public var maxTransactionBytes = 4 << 20
    /// Most frames one transaction may hold.
    public var maxTransactionFrames = 10_000
    /// Unsent bytes per connection (`limits.max_outbound_bytes`): queue deliveries are handed over in
    /// batches of at most this size, and a topic subscriber further behind is a slow consumer.
    public var maxOutboundBytes = 4 << 20
    /// Unacknowledged messages per queue subscription when the client gives no `prefetch-count`.
    public var prefetch = 100
    /// Most subscriptions per connection.
    public var maxSubscriptions = 256
    /// Most headers per frame.
    public var maxHeaders = 64
    /// Longest command or header line, in bytes.
    public var maxHeaderLength = 8192
    /// Largest frame body, in bytes (`limits.max_message_size`).
    public var maxBodySize = 1 << 20
    /// Longest channel or queue name (`limits.max_channel_name`).
    public var maxNameLength = ChannelName.defaultMaxLength
    /// Most messages waiting in one queue.
    public var maxQueueLength = 10_000
    /// Most body bytes waiting in one queue.
    public var maxQueueBytes = 16 << 20
    /// Most queues.
    public var maxQueues = 10_000

    /// The documented defaults.
    public init() {}

    var session: STOMPSession.Configuration {
        var session = STOMPSession.Configuration()
        session.heartBeatMilliseconds = Int(heartBeat * 1000)
        session.maxSubscriptions = maxSubscriptions
        session.defaultPrefetch = prefetch
        session.maxNameLength = maxNameLength
        session.serverName = "Switchboard/\(SwitchboardVersion.current)"
        session.policy = policy
        session.maxTransactionBytes = maxTransactionBytes
        session.maxTransactionFrames = maxTransactionFrames
        for user in users { session.users[user.login] = user }
        return session
    }

    var decoderLimits: STOMPFrameDecoder.Limits {
        STOMPFrameDecoder.Limits(maxHeaderLength: maxHeaderLength, maxHeaders: maxHeaders, maxBodySize: maxBodySize)
    }

    var queueLimits: QueueStore.Limits {
        QueueStore.Limits(
            maxQueues: maxQueues,
            queue: MessageQueue.Limits(maxLength: maxQueueLength, maxBytes: maxQueueBytes)
        )
    }
}
