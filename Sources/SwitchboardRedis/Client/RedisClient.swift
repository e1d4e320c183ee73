public import NIOCore
public import SwitchboardCore
import Synchronization

/// A link to one Redis server that stays up: it reconnects after every failure (backoff with jitter),
/// probes an idle connection so a silent one is noticed, restores its pub/sub subscriptions, and tells
/// its owner when the link goes down and comes back.
///
/// Commands are never queued while the link is down: they fail at once with
/// ``RedisError/Code-swift.enum/unavailable``, so a caller (a publish) can refuse instead of waiting.
/// Thread-safe.
public final class RedisClient: Sendable {
    /// The client's settings.
    public struct Configuration: Sendable {
        public var connection: RedisConnection.Configuration
        /// How often a `PING` goes out; one unanswered within the command timeout closes the link.
        public var probeInterval: TimeAmount
        /// The first reconnect delay (doubling on each failure, up to `maximumBackoff`).
        public var initialBackoff: TimeAmount
        public var maximumBackoff: TimeAmount
        /// Channels per `SSUBSCRIBE` when subscriptions are restored.
        public var subscribeBatch: Int

        /// Creates a configuration; the defaults probe every 2 s and back off from 100 ms to 5 s.
        public init(
            connection: RedisConnection.Configuration = .init(),
            probeInterval: TimeAmount = .seconds(2),
            initialBackoff: TimeAmount = .milliseconds(100),
            maximumBackoff: TimeAmount = .seconds(5),
            subscribeBatch: Int = 256
        ) {
            self.connection = connection
            self.probeInterval = probeInterval
            self.initialBackoff = initialBackoff
            self.maximumBackoff = maximumBackoff
            self.subscribeBatch = subscribeBatch
        }
    }

    /// What the client tells its owner. Called on the client's event loop.
    public struct Events: Sendable {
        /// The link is up (and every subscription restored).
        public var linkUp: @Sendable () -> Void
        /// The link broke, or could not be made; it is being retried.
        public var linkDown: @Sendable (RedisError) -> Void
        /// A pub/sub message, or a subscription Redis ended.
        public var push: @Sendable (RedisPush) -> Void

        public init(
            linkUp: @escaping @Sendable () -> Void = {},
            linkDown: @escaping @Sendable (RedisError) -> Void = { _ in },
            push: @escaping @Sendable (RedisPush) -> Void = { _ in }
        ) {
            self.linkUp = linkUp
            self.linkDown = linkDown
            self.push = push
        }
    }

    private struct State {
        var link = RedisLinkStateMachine<RedisConnection>()
        /// The sharded channels this client serves, restored on every new connection.
        var channels: Set<String> = []
        var lastError: RedisError?
        var probe: RepeatedTask?
    }

    public let endpoint: RedisEndpoint
    public let eventLoop: any EventLoop
    private let configuration: Configuration
    private let connector: any TCPConnector
    private let events: Events
    private let state: Mutex<State>

    public init(
        endpoint: RedisEndpoint,
        configuration: Configuration = .init(),
        connector: any TCPConnector,
        eventLoop: any EventLoop,
        events: Events = .init()
    ) {
        self.endpoint = endpoint
        self.configuration = configuration
        self.connector = connector
        self.eventLoop = eventLoop
        self.events = events
        var state = State()
        state.link.backoff = .init(
            initial: configuration.initialBackoff.nanoseconds / 1_000_000,
            maximum: configuration.maximumBackoff.nanoseconds / 1_000_000
        )
        self.state = Mutex(state)
    }

    /// Whether the link is up now.
    public var isUp: Bool { state.withLock { $0.link.isUp } }

    /// Why the link is down (nil when it is up, or has never been tried).
    public var lastError: RedisError? { state.withLock { $0.link.isUp ? nil : $0.lastError } }

    /// Starts connecting (and reconnecting, until ``shutdown()``).
    public func start() {
        let action = state.withLock { $0.link.startRequested() }
        run(action)
        let probe = eventLoop.scheduleRepeatedTask(
            initialDelay: configuration.probeInterval,
            delay: configuration.probeInterval
        ) { [self] _ in
            // The reply's timeout (the connection's command timeout) is what closes a silent link.
            _ = connection?.send(RESPCommand("PING"))
        }
        state.withLock { $0.probe = probe }
    }

    /// Closes the link for good; what waits fails.
    public func shutdown() {
        let (action, probe) = state.withLock { state in
            (state.link.shutdownRequested(), state.probe)
        }
        probe?.cancel()
        run(action)
    }

    private var connection: RedisConnection? { state.withLock { $0.link.connection } }

    /// Closes the current connection (if any): the link goes down and is made again, with backoff. For an
    /// owner whose own setup on a new connection failed (a library that could not be loaded).
    public func reconnect() {
        connection?.close()
    }

    /// The sharded channels this client serves.
    public var subscribedChannels: Set<String> { state.withLock { $0.channels } }

    /// Sends `command`, or fails at once when the link is down.
    public func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        guard let connection = usableConnection() else { return eventLoop.makeFailedFuture(unavailable()) }
        return connection.send(command)
    }

    /// Sends `commands` as one pipeline, or fails them all at once when the link is down.
    public func send(_ commands: [RESPCommand]) -> [EventLoopFuture<RESPValue>] {
        guard let connection = usableConnection() else {
            let error = unavailable()
            return commands.map { _ in eventLoop.makeFailedFuture(error) }
        }
        return connection.send(commands)
    }

    /// Adds `channels` to the sharded channels this client serves, and subscribes when connected. The future
    /// completes when Redis has confirmed; it fails when the link is down — the channels stay served, and
    /// are subscribed when the link returns (``unsubscribe(_:)`` to give them up).
    public func subscribe(_ channels: [String]) -> EventLoopFuture<Void> {
        let connection = state.withLock { state -> RedisConnection? in
            state.channels.formUnion(channels)
            return state.link.connection
        }
        guard let connection else { return eventLoop.makeFailedFuture(unavailable()) }
        return subscribe(channels, on: connection)
    }

    /// Stops serving `channels`.
    public func unsubscribe(_ channels: [String]) {
        let connection = state.withLock { state -> RedisConnection? in
            state.channels.subtract(channels)
            return state.link.connection
        }
        guard let connection, !channels.isEmpty else { return }
        _ = connection.send(RESPCommand("SUNSUBSCRIBE", arguments: channels.map { .string($0) }))
    }

    private func subscribe(_ channels: [String], on connection: RedisConnection) -> EventLoopFuture<Void> {
        guard !channels.isEmpty else { return eventLoop.makeSucceededVoidFuture() }
        let batches = stride(from: 0, to: channels.count, by: configuration.subscribeBatch).map {
            RESPCommand(
                "SSUBSCRIBE",
                arguments: channels[$0..<min($0 + configuration.subscribeBatch, channels.count)].map { .string($0) }
            )
        }
        return EventLoopFuture.andAllSucceed(connection.send(batches), on: eventLoop)
    }

    private func usableConnection() -> RedisConnection? {
        state.withLock { $0.link.isUp ? $0.link.connection : nil }
    }

    private func unavailable() -> RedisError {
        let isShutdown = state.withLock { state -> Bool in
            if case .shutdown = state.link.state { return true }
            return false
        }
        if isShutdown { return RedisError(.shutdown, "shut down") }
        return RedisError(.unavailable, "\(endpoint): " + (lastError?.message ?? "connecting"))
    }

    // MARK: The link's life

    private func run(_ action: RedisLinkStateMachine<RedisConnection>.Action) {
        switch action {
        case .none:
            break
        case .connect:
            connect()
        case .restoreSubscriptions(let connection):
            let channels = state.withLock { Array($0.channels) }
            subscribe(channels, on: connection).whenComplete { [self] result in
                switch result {
                case .success: run(state.withLock { $0.link.subscriptionsRestored() })
                case .failure: connection.close()  // closing runs connectionClosed: a new try
                }
            }
        case .announceUp:
            events.linkUp()
        case .announceDownAndRetry(let error, let milliseconds):
            events.linkDown(error)
            scheduleRetry(after: milliseconds)
        case .retry(let milliseconds):
            scheduleRetry(after: milliseconds)
        case .close(let connection):
            connection.close()
        }
    }

    private func connect() {
        RedisConnection.connect(
            to: endpoint,
            configuration: configuration.connection,
            using: connector,
            on: eventLoop,
            pushReceived: events.push
        ).whenComplete { [self] result in
            switch result {
            case .success(let connection):
                let action = state.withLock { state in
                    state.lastError = nil
                    return state.link.connectSucceeded(connection, hasSubscriptions: !state.channels.isEmpty)
                }
                connection.closeReason.whenSuccess { [self] reason in
                    let error = RedisError(reason.code, "\(endpoint): \(reason.message)")
                    let jitter = Double.random(in: 0..<1)
                    let action = state.withLock { state in
                        // Only the current connection's end matters (not one already replaced).
                        guard state.link.connection === connection else {
                            return RedisLinkStateMachine<RedisConnection>.Action.none
                        }
                        state.lastError = error
                        return state.link.connectionClosed(error, jitter: jitter)
                    }
                    run(action)
                }
                run(action)
            case .failure(let error):
                let redisError = error as? RedisError ?? RedisError(.unavailable, "\(endpoint): \(error)")
                let jitter = Double.random(in: 0..<1)
                let action = state.withLock { state in
                    state.lastError = redisError
                    return state.link.connectFailed(redisError, jitter: jitter)
                }
                run(action)
            }
        }
    }

    private func scheduleRetry(after milliseconds: Int64) {
        eventLoop.scheduleTask(in: .milliseconds(milliseconds)) { [self] in
            run(state.withLock { $0.link.retryTimerFired() })
        }
    }
}
