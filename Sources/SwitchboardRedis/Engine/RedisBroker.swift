public import NIOCore
public import SwitchboardCore
import Synchronization

/// Channels kept in Redis and shared by every node: publish stores a message and fans it out (one atomic
/// function call), history and heads are read from Redis, and a node attaches to the channels its own
/// subscribers use (sharded pub/sub) to receive what any node publishes.
///
/// Two links: one for commands, one for pub/sub (a subscribed RESP3 connection could carry commands too,
/// but a burst of messages would then delay a publish's reply). Nothing is queued while a link is down:
/// a publish fails at once (the caller answers 503), so an acknowledged publish is always a stored one.
public final class RedisBroker: ChannelEngine {
    /// The broker's settings.
    public struct Configuration: Sendable {
        /// The prefix of every key and pub/sub channel (`engine.prefix`), so deployments can share a Redis.
        public var prefix: String
        /// Messages kept per channel (`channels.history_size`).
        public var historySize: Int
        /// How long a message is kept, in milliseconds (`channels.history_ttl`).
        public var historyTTLMilliseconds: Int64
        /// How long a channel's epoch outlives its last message (`channels.retention`).
        public var channelRetentionMilliseconds: Int64
        public var client: RedisClient.Configuration

        /// How long a channel's meta key lives after its last publish (or an attached node's refresh).
        var metaTTLMilliseconds: Int64 { max(1, historyTTLMilliseconds) + channelRetentionMilliseconds }

        public init(
            prefix: String = "sb",
            historySize: Int = 100,
            historyTTLMilliseconds: Int64 = 3_600_000,
            channelRetentionMilliseconds: Int64 = 300_000,
            client: RedisClient.Configuration = .init()
        ) {
            self.prefix = prefix
            self.historySize = historySize
            self.historyTTLMilliseconds = historyTTLMilliseconds
            self.channelRetentionMilliseconds = channelRetentionMilliseconds
            self.client = client
        }
    }

    /// What the broker tells its owner (the hub), on the broker's event loop.
    public struct Events: Sendable {
        /// A message published on any node to an attached channel, in offset order per channel.
        public var received: @Sendable (Message) -> Void
        /// An attached channel was deleted (by any node); `epoch` is the epoch that ended.
        public var deleted: @Sendable (ChannelName, _ epoch: String) -> Void
        /// Redis ended an attachment (a slot moved in a cluster): attach again.
        public var detachedByRedis: @Sendable (ChannelName) -> Void
        /// Both links are up and the functions loaded: publishes are accepted; mirrors must be repaired.
        public var linkUp: @Sendable () -> Void
        /// A link broke: publishes are refused until ``linkUp``.
        public var linkDown: @Sendable (RedisError) -> Void

        public init(
            received: @escaping @Sendable (Message) -> Void = { _ in },
            deleted: @escaping @Sendable (ChannelName, String) -> Void = { _, _ in },
            detachedByRedis: @escaping @Sendable (ChannelName) -> Void = { _ in },
            linkUp: @escaping @Sendable () -> Void = {},
            linkDown: @escaping @Sendable (RedisError) -> Void = { _ in }
        ) {
            self.received = received
            self.deleted = deleted
            self.detachedByRedis = detachedByRedis
            self.linkUp = linkUp
            self.linkDown = linkDown
        }
    }

    private struct LinkState {
        var commandsReady = false
        var pubsubUp = false
        /// The replication id of the primary the command link talks to: the fence of every publish.
        var replicationID = ""
        var announcedUp = false
        var refresh: RepeatedTask?
    }

    public let configuration: Configuration
    public let eventLoop: any EventLoop
    private let commands: RedisClient
    private let pubsub: RedisClient
    private let events: Events
    private let clock: @Sendable () -> Int64
    private let makeEpoch: @Sendable () -> String
    private let link = Mutex(LinkState())
    private let allocator = ByteBufferAllocator()

    public init(
        endpoint: RedisEndpoint,
        configuration: Configuration = .init(),
        connector: any TCPConnector,
        eventLoop: any EventLoop,
        events: Events,
        clock: @escaping @Sendable () -> Int64 = WallClock.milliseconds,
        makeEpoch: @escaping @Sendable () -> String
    ) {
        self.configuration = configuration
        self.eventLoop = eventLoop
        self.events = events
        self.clock = clock
        self.makeEpoch = makeEpoch
        let prefix = configuration.prefix
        // The closures reach the broker through a box filled below: `self` cannot be captured before init ends.
        let owner = Box()
        var commandsConfiguration = configuration.client
        commandsConfiguration.connection.clientName = "switchboard-commands"
        var pubsubConfiguration = configuration.client
        pubsubConfiguration.connection.clientName = "switchboard-pubsub"
        commands = RedisClient(
            endpoint: endpoint,
            configuration: commandsConfiguration,
            connector: connector,
            eventLoop: eventLoop,
            events: .init(
                linkUp: { owner.broker?.commandLinkUp() },
                linkDown: { owner.broker?.linkDown(commands: true, $0) }
            )
        )
        pubsub = RedisClient(
            endpoint: endpoint,
            configuration: pubsubConfiguration,
            connector: connector,
            eventLoop: eventLoop,
            events: .init(
                linkUp: { owner.broker?.pubsubLinkUp() },
                linkDown: { owner.broker?.linkDown(commands: false, $0) },
                push: { push in
                    guard let broker = owner.broker else { return }
                    switch push {
                    case .message(let channel, let payload): broker.pushReceived(channel: channel, payload: payload)
                    case .unsubscribed(let channel):
                        if let name = RedisKeys.channel(ofPubSub: channel, prefix: prefix) {
                            broker.events.detachedByRedis(name)
                        }
                    }
                }
            )
        )
        owner.broker = self
    }

    private final class Box: @unchecked Sendable {
        // Written once in init, before either client starts; read afterwards.
        weak var broker: RedisBroker?
    }

    /// Starts both links, and the refresh of the attached channels' expiry.
    public func start() {
        commands.start()
        pubsub.start()
        // A channel's meta key expires a while after its last publish; while a node has subscribers of the
        // channel it must not (its epoch would end and every subscriber be told of a gap that is not there).
        let every = TimeAmount.milliseconds(max(1_000, configuration.channelRetentionMilliseconds / 3))
        let refresh = eventLoop.scheduleRepeatedTask(initialDelay: every, delay: every) { [weak self] _ in
            self?.refreshAttachedChannels()
        }
        link.withLock { $0.refresh = refresh }
    }

    private func refreshAttachedChannels() {
        let channels = pubsub.subscribedChannels
        guard !channels.isEmpty, isUp else { return }
        let ttl = configuration.metaTTLMilliseconds
        _ = commands.send(channels.map { RESPCommand("PEXPIRE", .string($0 + ":m"), .integer(ttl)) })
    }

    /// Closes both links.
    public func shutdown() {
        link.withLock { $0.refresh }?.cancel()
        commands.shutdown()
        pubsub.shutdown()
    }

    /// Whether publishes are sent now (the command link is up; a pub/sub link being restored does not stop
    /// them).
    public var acceptsPublishes: Bool { link.withLock { $0.commandsReady } }

    /// Whether both links are up.
    public var isUp: Bool { link.withLock { $0.commandsReady && $0.pubsubUp } }

    /// Why the broker is down (nil when up).
    public var unavailableReason: String? {
        guard !isUp else { return nil }
        return (commands.lastError ?? pubsub.lastError)?.description ?? "connecting to \(commands.endpoint)"
    }

    // MARK: Channels

    /// Stores and publishes `request` on `channel`; the future has the stored message (its position
    /// assigned by Redis). Fails with ``RedisError`` — and nothing was stored, unless the code is
    /// `connectionClosed` or `timeout` (then it may have been) — when Redis is unavailable.
    public func publish(_ request: PublishRequest, to channel: ChannelName) -> EventLoopFuture<Message> {
        let (ready, replicationID) = link.withLock { ($0.commandsReady, $0.replicationID) }
        guard ready else { return eventLoop.makeFailedFuture(unavailable()) }
        let timestamp = clock()
        let blob = RedisMessageCodec.encode(request, timestamp: timestamp, allocator: allocator)
        let keys = RedisKeys(channel: channel, prefix: configuration.prefix)
        let call = RESPCommand(
            "FCALL",
            .string(RedisFunctions.publish),
            2,
            .string(keys.meta),
            .string(keys.stream),
            .bytes(blob),
            .integer(Int64(configuration.historySize)),
            .integer(max(1, configuration.historyTTLMilliseconds)),
            .string(replicationID),
            .string(makeEpoch()),
            .string(keys.pubsub),
            .integer(configuration.metaTTLMilliseconds)
        )
        return callFunction(call).flatMapThrowing { reply in
            guard let fields = reply.elements, fields.count == 2, let epoch = fields[0].string,
                let offset = fields[1].integer, offset > 0
            else { throw RedisError(.protocolViolation, "\(RedisFunctions.publish) returned \(reply)") }
            return Message(
                channel: channel,
                position: StreamPosition(epoch: epoch, offset: UInt64(offset)),
                payload: Hub.detached(request.payload),
                contentType: request.contentType,
                eventType: request.eventType,
                headers: request.headers,
                timestamp: timestamp
            )
        }
    }

    /// Deletes `channel` everywhere; true when it existed. Attached nodes are told (``Events/deleted``).
    public func delete(_ channel: ChannelName) -> EventLoopFuture<Bool> {
        let keys = RedisKeys(channel: channel, prefix: configuration.prefix)
        let call = RESPCommand(
            "FCALL",
            .string(RedisFunctions.delete),
            2,
            .string(keys.meta),
            .string(keys.stream),
            .string(keys.pubsub)
        )
        return callFunction(call).map { $0.integer == 1 }
    }

    /// The heads of `channels`, in one pipeline.
    public func heads(_ channels: [ChannelName]) -> EventLoopFuture<[ChannelHead]> {
        let reads = channels.map { RedisKeys(channel: $0, prefix: configuration.prefix).readHead }
        return EventLoopFuture.whenAllSucceed(commands.send(reads), on: eventLoop).flatMapThrowing { replies in
            try replies.map { reply in
                guard let head = ChannelHead(reply) else {
                    throw RedisError(.protocolViolation, "HMGET returned \(reply)")
                }
                return head
            }
        }
    }

    /// The newest `limit` stored messages of `channel`, with its head.
    public func history(of channel: ChannelName, limit: Int) -> EventLoopFuture<StoredPage> {
        let stream = RedisKeys(channel: channel, prefix: configuration.prefix).stream
        return readStream(
            of: channel,
            RESPCommand("XREVRANGE", .string(stream), "+", "-", "COUNT", .integer(Int64(max(1, limit)))),
            newestFirst: true
        )
    }

    /// Up to `limit` stored messages of `channel` after `offset` (from the oldest kept when nil), with the
    /// channel's head; messages older than the history's time limit are left out.
    public func history(of channel: ChannelName, after offset: UInt64?, limit: Int) -> EventLoopFuture<StoredPage> {
        let stream = RedisKeys(channel: channel, prefix: configuration.prefix).stream
        let start: RESPCommand.Argument = offset.map { .string("(\($0)-0") } ?? "-"
        return readStream(
            of: channel,
            RESPCommand("XRANGE", .string(stream), start, "+", "COUNT", .integer(Int64(max(1, limit)))),
            newestFirst: false
        )
    }

    /// Runs `read` (an XRANGE or XREVRANGE of `channel`'s stream) in one pipeline with the head.
    private func readStream(
        of channel: ChannelName,
        _ read: RESPCommand,
        newestFirst: Bool
    ) -> EventLoopFuture<StoredPage> {
        let keys = RedisKeys(channel: channel, prefix: configuration.prefix)
        // One transaction, so the head and the entries are of one moment (a publish or a fence in between
        // would label entries with the wrong epoch).
        let replies = commands.send([
            RESPCommand("MULTI"), keys.readHead, read,
            RESPCommand("EXEC"),
        ])
        let cutoff = clock() - configuration.historyTTLMilliseconds
        return EventLoopFuture.whenAllSucceed(replies, on: eventLoop).flatMapThrowing { replies in
            guard let results = replies[3].elements, results.count == 2, let head = ChannelHead(results[0]),
                let entries = results[1].elements
            else {
                throw RedisError(.protocolViolation, "a history read returned \(replies)")
            }
            var messages: [Message] = []
            messages.reserveCapacity(entries.count)
            for entry in newestFirst ? entries.reversed() : entries {
                guard let parts = entry.elements, parts.count == 2, let id = parts[0].string,
                    let entryOffset = id.split(separator: "-").first.flatMap({ UInt64($0) }),
                    let fields = parts[1].elements, fields.count >= 2, let blob = fields[1].bytes
                else { throw RedisError(.protocolViolation, "a malformed stream entry in \(keys.stream)") }
                // An entry with no epoch (a stream left without its meta key) belongs to no channel life.
                guard let epoch = head.epoch(ofEntryAt: entryOffset) else { continue }
                guard
                    let message = RedisMessageCodec.decode(
                        blob,
                        channel: channel,
                        position: StreamPosition(epoch: epoch, offset: entryOffset)
                    )
                else { throw RedisError(.protocolViolation, "a malformed stream entry in \(keys.stream)") }
                if message.timestamp > cutoff { messages.append(message) }
            }
            return StoredPage(head: head, messages: messages)
        }
    }

    /// Receives what is published on `channel` from now on (``Events/received``); completes once Redis has
    /// confirmed. Failing (the link is down), the channel stays attached and is subscribed when the link
    /// returns — ``detach(_:)`` to give it up.
    public func attach(_ channel: ChannelName) -> EventLoopFuture<Void> {
        pubsub.subscribe([RedisKeys(channel: channel, prefix: configuration.prefix).pubsub])
    }

    /// Stops receiving `channel`.
    public func detach(_ channel: ChannelName) {
        pubsub.unsubscribe([RedisKeys(channel: channel, prefix: configuration.prefix).pubsub])
    }

    // MARK: Links

    /// Calls a function of the library, loading the library again once if Redis lost it.
    private func callFunction(_ call: RESPCommand) -> EventLoopFuture<RESPValue> {
        commands.send(call).flatMapError { [self] error in
            guard let error = error as? RedisError, error.code == .reply, error.message.contains("Function not found")
            else { return eventLoop.makeFailedFuture(error) }
            return commands.send(RESPCommand("FUNCTION", "LOAD", "REPLACE", .string(RedisFunctions.source)))
                .flatMap { [self] _ in commands.send(call) }
        }
    }

    private func commandLinkUp() {
        // Load the functions and learn the primary's replication id before a publish may go out: a publish
        // with no id would fence every channel.
        let replies = commands.send([
            RESPCommand("FUNCTION", "LOAD", "REPLACE", .string(RedisFunctions.source)),
            RESPCommand("INFO", "replication"),
        ])
        EventLoopFuture.whenAllSucceed(replies, on: eventLoop).whenComplete { [self] result in
            switch result {
            case .success(let replies):
                let info = replies[1].string ?? ""
                let replicationID =
                    info.split(whereSeparator: \.isNewline)
                    .first { $0.hasPrefix("master_replid:") }
                    .map { String($0.dropFirst("master_replid:".count)) } ?? ""
                announceIfUp {
                    $0.commandsReady = true
                    $0.replicationID = replicationID
                }
            case .failure(let error):
                // The link is up but unusable (Redis still loading its data, a replica that refuses writes):
                // say so, and make the link again (with backoff) to try once more.
                events.linkDown(error as? RedisError ?? RedisError(.unavailable, "\(error)"))
                commands.reconnect()
            }
        }
    }

    private func pubsubLinkUp() {
        announceIfUp { $0.pubsubUp = true }
    }

    private func announceIfUp(_ update: (inout LinkState) -> Void) {
        let announce = link.withLock { state -> Bool in
            update(&state)
            guard state.commandsReady, state.pubsubUp, !state.announcedUp else { return false }
            state.announcedUp = true
            return true
        }
        if announce { events.linkUp() }
    }

    private func linkDown(commands isCommands: Bool, _ error: RedisError) {
        let announce = link.withLock { state -> Bool in
            if isCommands { state.commandsReady = false } else { state.pubsubUp = false }
            defer { state.announcedUp = false }
            return state.announcedUp
        }
        if announce { events.linkDown(error) }
    }

    private func unavailable() -> RedisError {
        let reason = commands.lastError ?? pubsub.lastError
        return RedisError(.unavailable, reason.map { "\($0.message)" } ?? "connecting to \(commands.endpoint)")
    }

    private func pushReceived(channel pubsubChannel: String, payload: ByteBuffer) {
        guard let channel = RedisKeys.channel(ofPubSub: pubsubChannel, prefix: configuration.prefix) else { return }
        var payload = payload
        switch payload.readInteger(as: UInt8.self) {
        case UInt8(ascii: "m"):
            // m<epoch>:<offset>:<blob>
            let view = payload.readableBytesView
            guard let colon = view.firstIndex(of: UInt8(ascii: ":")),
                let second = view[(colon + 1)...].firstIndex(of: UInt8(ascii: ":")),
                let epoch = payload.getString(at: payload.readerIndex, length: colon - view.startIndex),
                let offsetText = payload.getString(at: colon + 1, length: second - colon - 1),
                let offset = UInt64(offsetText)
            else { return }
            payload.moveReaderIndex(to: second + 1)
            let position = StreamPosition(epoch: epoch, offset: offset)
            guard let message = RedisMessageCodec.decode(payload, channel: channel, position: position) else { return }
            events.received(message)
        case UInt8(ascii: "d"):
            events.deleted(channel, String(buffer: payload))
        default:
            return
        }
    }
}

/// The names of a channel's keys and pub/sub channel.
struct RedisKeys {
    let meta: String
    let stream: String
    let pubsub: String

    init(channel: ChannelName, prefix: String) {
        // Channel names cannot contain braces, so the tag is exactly the name.
        pubsub = "\(prefix):{\(channel.rawValue)}"
        meta = pubsub + ":m"
        stream = pubsub + ":s"
    }

    /// Reads the channel's head (``ChannelHead`` reads the reply).
    var readHead: RESPCommand { RESPCommand("HMGET", .string(meta), "e", "s", "pe", "ps") }

    /// The channel a pub/sub channel name belongs to.
    static func channel(ofPubSub name: String, prefix: String) -> ChannelName? {
        guard name.hasPrefix(prefix + ":{"), name.hasSuffix("}") else { return nil }
        return ChannelName(unchecked: String(name.dropFirst(prefix.count + 2).dropLast()))
    }
}
