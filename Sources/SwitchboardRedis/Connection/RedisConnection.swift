public import NIOCore
public import SwitchboardCore

/// One connection to Redis, logged in and speaking RESP3: commands go out pipelined (each `send` writes,
/// one flush per call) and their answers come back in order.
///
/// Thread-safe: `send` may be called from any thread; the work happens on the connection's event loop.
/// Nothing is retried here — a connection that breaks fails what waits on it, and ``RedisClient`` makes a
/// new one.
public final class RedisConnection: Sendable {
    /// How connections are made and how long things may take.
    public struct Configuration: Sendable {
        public var connectTimeout: TimeAmount
        /// The longest a command may wait for its reply before the connection is closed.
        public var commandTimeout: TimeAmount
        /// The name the connection has in `CLIENT LIST`.
        public var clientName: String?
        /// Makes the TLS handler for `rediss://` (the server supplies it; this module does no TLS itself).
        public var makeTLSHandler: (@Sendable (_ host: String) throws -> any ChannelHandler)?
        public var decoderLimits: RESPDecoder.Limits

        /// Creates a configuration; the defaults are a 2 s connect timeout and a 5 s command timeout.
        public init(
            connectTimeout: TimeAmount = .seconds(2),
            commandTimeout: TimeAmount = .seconds(5),
            clientName: String? = nil,
            makeTLSHandler: (@Sendable (_ host: String) throws -> any ChannelHandler)? = nil,
            decoderLimits: RESPDecoder.Limits = .init()
        ) {
            self.connectTimeout = connectTimeout
            self.commandTimeout = commandTimeout
            self.clientName = clientName
            self.makeTLSHandler = makeTLSHandler
            self.decoderLimits = decoderLimits
        }
    }

    /// The NIO channel (for its close future and event loop).
    public let channel: any Channel

    /// Why the connection ended: completes when it has (a timeout, a protocol violation, the peer closing).
    public let closeReason: EventLoopFuture<RedisError>

    private init(channel: any Channel, closeReason: EventLoopFuture<RedisError>) {
        self.channel = channel
        self.closeReason = closeReason
    }

    /// The event loop the connection runs on.
    public var eventLoop: any EventLoop { channel.eventLoop }

    /// Completes when the connection has closed.
    public var closeFuture: EventLoopFuture<Void> { channel.closeFuture }

    /// Connects to `endpoint`, says `HELLO 3` (with the credentials and client name) and selects its
    /// database. `pushReceived` runs on `eventLoop` for every pub/sub message.
    public static func connect(
        to endpoint: RedisEndpoint,
        configuration: Configuration = .init(),
        using connector: any TCPConnector,
        on eventLoop: any EventLoop,
        pushReceived: @escaping @Sendable (RedisPush) -> Void = { _ in }
    ) -> EventLoopFuture<RedisConnection> {
        if endpoint.tls, configuration.makeTLSHandler == nil {
            return eventLoop.makeFailedFuture(
                RedisError(.unavailable, "\(endpoint): rediss:// needs TLS, which this build does not configure")
            )
        }
        let decoderLimits = configuration.decoderLimits
        let commandTimeout = configuration.commandTimeout
        let makeTLSHandler = configuration.makeTLSHandler
        let closed = eventLoop.makePromise(of: RedisError.self)
        return connector.connect(
            host: endpoint.host,
            port: endpoint.port,
            timeout: configuration.connectTimeout,
            on: eventLoop
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                let handlers = channel.pipeline.syncOperations
                if endpoint.tls, let makeTLSHandler { try handlers.addHandler(makeTLSHandler(endpoint.host)) }
                try handlers.addHandler(
                    RedisChannelHandler(
                        decoder: RESPDecoder(limits: decoderLimits),
                        commandTimeout: commandTimeout,
                        closed: closed,
                        pushReceived: pushReceived
                    )
                )
            }
        }.flatMap { channel in
            let connection = RedisConnection(channel: channel, closeReason: closed.futureResult)
            return connection.handshake(endpoint: endpoint, clientName: configuration.clientName)
                .map { connection }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
        }.flatMapErrorThrowing { error in
            closed.succeed(RedisError(.unavailable, "not connected"))  // when no handler was made to complete it
            if let error = error as? RedisError { throw error }
            throw RedisError(.unavailable, "\(endpoint): \(error)")
        }
    }

    private func handshake(endpoint: RedisEndpoint, clientName: String?) -> EventLoopFuture<Void> {
        var hello: [RESPCommand.Argument] = ["3"]
        if let password = endpoint.password {
            hello += ["AUTH", .string(endpoint.username ?? "default"), .string(password)]
        }
        if let clientName { hello += ["SETNAME", .string(clientName)] }
        var commands = [RESPCommand("HELLO", arguments: hello)]
        if endpoint.database != 0 { commands.append(RESPCommand("SELECT", .integer(Int64(endpoint.database)))) }
        let replies = send(commands)
        return EventLoopFuture.andAllSucceed(replies, on: eventLoop).flatMapErrorThrowing { error in
            guard let error = error as? RedisError, error.code == .reply else { throw error }
            // Redis < 6 has no HELLO; it is not supported (functions and sharded pub/sub need 7).
            throw RedisError(.unavailable, "\(endpoint) refused the handshake: \(error.message)")
        }
    }

    /// Sends `command`; the future has its reply, or fails with a ``RedisError`` (an error reply too).
    public func send(_ command: RESPCommand) -> EventLoopFuture<RESPValue> {
        let promise = eventLoop.makePromise(of: RESPValue.self)
        channel.writeAndFlush(RedisRequest(command: command, promise: promise), promise: Self.failing(promise))
        return promise.futureResult
    }

    /// Sends `commands` in one write (a pipeline); the futures have their replies, in order.
    public func send(_ commands: [RESPCommand]) -> [EventLoopFuture<RESPValue>] {
        let promises = commands.map { _ in eventLoop.makePromise(of: RESPValue.self) }
        for (command, promise) in zip(commands, promises) {
            channel.write(RedisRequest(command: command, promise: promise), promise: Self.failing(promise))
        }
        channel.flush()
        return promises.map(\.futureResult)
    }

    /// A write promise that fails `reply` when the write does (a closed channel never reaches the handler, so
    /// nothing else would complete it). Completing a completed promise does nothing.
    private static func failing(_ reply: EventLoopPromise<RESPValue>) -> EventLoopPromise<Void> {
        let written = reply.futureResult.eventLoop.makePromise(of: Void.self)
        written.futureResult.whenFailure { error in
            reply.fail(error as? RedisError ?? RedisError(.connectionClosed, "\(error)"))
        }
        return written
    }

    /// Closes the connection; what waits on it fails.
    public func close() {
        channel.close(promise: nil)
    }
}
