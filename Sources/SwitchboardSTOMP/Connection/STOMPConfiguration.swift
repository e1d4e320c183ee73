import SwitchboardCore

/// What the STOMP front end needs to know; every field has the documented default (docs/stomp.md).
public struct STOMPConfiguration: Sendable {
    /// Serves STOMP over WebSocket at `/stomp` on the HTTP listener.
    public var webSocket = true
    /// The heart-beat interval the server offers, in seconds (0 = none).
    public var heartBeat: Double = 10
    /// `login:passcode` pairs; empty = no login required.
    public var users: [String] = []
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
        for user in users {
            guard let colon = user.firstIndex(of: ":") else { continue }
            session.users[String(user[..<colon])] = String(user[user.index(after: colon)...])
        }
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
