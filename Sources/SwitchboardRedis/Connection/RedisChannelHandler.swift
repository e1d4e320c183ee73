public import NIOCore

/// A command on its way to Redis, with the promise its answer completes.
public struct RedisRequest: Sendable {
    public var command: RESPCommand
    public var promise: EventLoopPromise<RESPValue>

    public init(command: RESPCommand, promise: EventLoopPromise<RESPValue>) {
        self.command = command
        self.promise = promise
    }
}

/// What Redis sends a connection unasked.
public enum RedisPush: Sendable {
    /// A pub/sub message on `channel`.
    case message(channel: String, payload: ByteBuffer)
    /// Redis ended the subscription to `channel` (a sharded channel's slot moved).
    case unsubscribed(channel: String)
}

/// The one handler of a Redis connection: encodes the requests written to it, decodes what Redis sends,
/// and runs the ``RedisReplyRouter``'s answer. Closes the connection when a reply is later than
/// `commandTimeout` (the replies after it could no longer be matched) or Redis breaks the protocol.
final class RedisChannelHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = RedisRequest
    typealias OutboundOut = ByteBuffer

    private let decoder: RESPDecoder
    private let commandTimeout: TimeAmount
    private let pushReceived: (RedisPush) -> Void
    private let closed: EventLoopPromise<RedisError>
    private var router = RedisReplyRouter<EventLoopPromise<RESPValue>>()
    private var received: ByteBuffer?
    private var timeout: Scheduled<Void>?
    /// When `timeout` fires: the timer is only moved when the longest-waiting command changes.
    private var timeoutDeadline: NIODeadline?
    private var failure: RedisError?

    /// `pushReceived` runs on the connection's event loop; `closed` learns why the connection ended.
    init(
        decoder: RESPDecoder = .init(),
        commandTimeout: TimeAmount,
        closed: EventLoopPromise<RedisError>,
        pushReceived: @escaping (RedisPush) -> Void
    ) {
        self.decoder = decoder
        self.commandTimeout = commandTimeout
        self.closed = closed
        self.pushReceived = pushReceived
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let request = unwrapOutboundIn(data)
        if let failure {
            request.promise.fail(failure)
            promise?.fail(failure)
            return
        }
        var bytes = context.channel.allocator.buffer(capacity: 64)
        request.command.encode(into: &bytes)
        router.commandSent(request.command, waiter: request.promise, now: .now())
        armTimeout(context: context)
        context.write(wrapOutboundOut(bytes), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if received == nil || received!.readableBytes == 0 {
            received = bytes
        } else {
            received!.writeBuffer(&bytes)
        }
        do {
            while let value = try decoder.next(from: &received!) {
                guard run(router.valueReceived(value), context: context) else { return }
            }
        } catch {
            close(context: context, RedisError(.protocolViolation, error.description))
            return
        }
        if received!.readableBytes == 0 {
            received = nil
        } else if received!.readerIndex > 64 << 10 {
            received!.discardReadBytes()
        }
        armTimeout(context: context)
    }

    /// Runs `action`; false when it closed the connection.
    private func run(
        _ action: RedisReplyRouter<EventLoopPromise<RESPValue>>.Action,
        context: ChannelHandlerContext
    ) -> Bool {
        switch action {
        case .succeed(let promise, let value): promise.succeed(value)
        case .fail(let promise, let error): promise.fail(error)
        case .message(let channel, let payload): pushReceived(.message(channel: channel, payload: payload))
        case .unsubscribedByServer(let channel): pushReceived(.unsubscribed(channel: channel))
        case .ignore: break
        case .protocolViolation(let reason):
            close(context: context, RedisError(.protocolViolation, reason))
            return false
        }
        return true
    }

    /// Keeps one timer for the longest-waiting command.
    private func armTimeout(context: ChannelHandlerContext) {
        let deadline = router.oldestSentAt.map { $0 + commandTimeout }
        guard deadline != timeoutDeadline else { return }
        timeout?.cancel()
        timeout = nil
        timeoutDeadline = deadline
        guard let deadline else { return }
        timeout = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timeout = nil
            timeoutDeadline = nil
            guard let oldest = router.oldestSentAt, oldest + commandTimeout <= .now() else {
                armTimeout(context: context)
                return
            }
            close(context: context, RedisError(.timeout, "no reply in \(commandTimeout.nanoseconds / 1_000_000) ms"))
        }
    }

    private func close(context: ChannelHandlerContext, _ error: RedisError) {
        failAll(error)
        context.close(promise: nil)
    }

    private func failAll(_ error: RedisError) {
        if failure == nil { failure = error }
        timeout?.cancel()
        timeout = nil
        timeoutDeadline = nil
        for promise in router.connectionClosed() { promise.fail(failure ?? error) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closed.succeed(failure ?? RedisError(.connectionClosed, "closed"))
    }

    /// Redis ended its side (the server's connector allows half-closure, for the bridge's targets): a Redis
    /// connection is over then — nothing more will be answered.
    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            close(context: context, RedisError(.connectionClosed, "closed by Redis"))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        close(context: context, RedisError(.connectionClosed, "\(error)"))
    }

    func channelInactive(context: ChannelHandlerContext) {
        failAll(RedisError(.connectionClosed, "closed by Redis or the network"))
        closed.succeed(failure!)
        context.fireChannelInactive()
    }
}
