package import NIOCore
import NIOWebSocket
package import SwitchboardCore

/// The one WebSocket connection handler, installed after the handshake for every front end (`/sub`,
/// `/echo`, STOMP, the native protocol, Socket.IO, the bridge). It parses frames, runs the
/// ``WebSocketFrameAssembler``'s actions (pongs, the closing handshake, failing a bad peer), pings a quiet
/// peer every ping interval and closes one that stays silent, and hands every complete text or binary
/// message on: to a ``WebSocketMessageSink`` (a protocol object), or, with no sink, down the pipeline as a
/// `ByteBuffer` to the protocol's own channel handler (STOMP's and the native protocol's, which also serve
/// TCP and SSE).
///
/// ```
/// bytes ─▶ WebSocketFrameParser ─▶ WebSocketFrameAssembler ─▶ Action ─▶ sink.received / fireChannelRead
///                                                                   └─▶ pong, close reply, fail
/// ```
///
/// Outbound, the front end writes finished frames (it frames them itself, so an encode-once frame is
/// written as is); closing the channel, ``close(code:reason:)`` or a ``WebSocketCloseRequest`` sends a
/// close frame first. Confined to its event loop.
package final class WebSocketConnectionHandler: ChannelDuplexHandler, RemovableChannelHandler, KeepAliveParticipant {
    package typealias InboundIn = ByteBuffer
    package typealias InboundOut = ByteBuffer
    package typealias OutboundIn = ByteBuffer
    package typealias OutboundOut = ByteBuffer

    /// What a connection is allowed and how it ends.
    package struct Configuration: Sendable {
        /// The largest message (and frame) accepted; a larger one fails the connection with 1009.
        package var maxMessageSize: Int
        /// How long a connection the server closes (slow consumer, shutdown, expired token) gets to take
        /// in what is already queued, its close frame included, before it is cut off.
        package var goodbyeTimeout: TimeAmount
        /// Whether messages wait while the connection cannot take more output: every message may cause
        /// an answer (a command's reply, a receipt, an echo), and answers must not pile up without bound.
        /// The bridge, which manages its reads itself, says no.
        package var pausesWhenUnwritable: Bool

        package init(maxMessageSize: Int, goodbyeTimeout: TimeAmount, pausesWhenUnwritable: Bool = true) {
            self.maxMessageSize = maxMessageSize
            self.goodbyeTimeout = goodbyeTimeout
            self.pausesWhenUnwritable = pausesWhenUnwritable
        }
    }

    /// How long a peer that broke the protocol has to take our close frame before the socket is closed.
    private static let failTimeout = TimeAmount.seconds(5)

    private let configuration: Configuration
    /// The loop's keep-alive timer when this connection is pinged (nil for protocols with a heartbeat of
    /// their own: STOMP, Engine.IO; and for the bridge, whose idle timeout watches the connection).
    private let keepAlive: KeepAliveTimer?
    private let sink: (any WebSocketMessageSink)?
    private var assembler: WebSocketFrameAssembler
    private let parser: WebSocketFrameParser
    /// Bytes of a frame that has not fully arrived.
    private var pending = PartialInput()
    private var context: ChannelHandlerContext?
    private var heardFromPeer = true
    private var lastKeepAlive = NIODeadline.now()
    /// Set once the connection failed (a bad frame): what the peer still sends is discarded.
    private var failed = false
    /// Set while reading is stopped because the peer does not take in what was written to it.
    private var readingPaused = false
    /// The channel's writability, tracked from events: a sink on a hot path reads it here rather than from
    /// the channel, which costs a cache miss per subscriber.
    package private(set) var isWritable = true

    /// `keepAlive`: the timer that pings the peer every interval, or nil for no pings. `sink`: where
    /// messages go, or nil to pass them down the pipeline.
    package init(
        configuration: Configuration,
        keepAlive: KeepAliveTimer?,
        sink: (any WebSocketMessageSink)?
    ) {
        self.configuration = configuration
        self.keepAlive = keepAlive
        self.sink = sink
        self.assembler = WebSocketFrameAssembler(maxMessageSize: configuration.maxMessageSize)
        self.parser = WebSocketFrameParser(maxFrameSize: configuration.maxMessageSize)
    }

    /// Whether our close frame has gone out (or the peer's came): nothing more may be sent.
    package var isClosing: Bool { assembler.isClosing }

    // MARK: Lifecycle

    package func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        isWritable = context.channel.isWritable
        keepAlive?.add(self)
        sink?.attached(to: self, context: context)
    }

    package func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(context: context)
    }

    package func channelInactive(context: ChannelHandlerContext) {
        tearDown(context: context)
        context.fireChannelInactive()
    }

    private func tearDown(context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        self.context = nil
        keepAlive?.remove(self)
        sink?.detached(from: context.channel)
    }

    package func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        sink?.writabilityChanged(context.channel, isWritable: isWritable)
        context.fireChannelWritabilityChanged()
        guard isWritable, self.context != nil, !failed else { return }
        // The peer took in its answers: the messages that waited go first, then reading resumes.
        if !pending.isEmpty {
            process(ByteBuffer(), context: context)
            context.fireChannelReadComplete()  // a protocol handler behind flushes its answers then
        }
        if readingPaused, context.channel.isWritable {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        }
    }

    package func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let sink, event is GracefulShutdownEvent {
            sink.shutdown(context.channel)
        } else if event is TokenExpiredEvent {
            close(DisconnectReason.tokenExpired)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    package func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A protocol handler behind decides for itself; a sink has no say in I/O errors.
        if sink == nil {
            context.fireErrorCaught(error)
        } else {
            context.close(promise: nil)
        }
    }

    // MARK: Inbound

    package func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        heardFromPeer = true
        process(unwrapInboundIn(data), context: context)
    }

    /// Runs the frames of `input` (after what was kept from earlier reads); stops, keeping the rest, when
    /// the connection cannot take more output and this connection pauses then.
    private func process(_ input: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = pending.joined(with: input)
        do {
            while self.context != nil, !configuration.pausesWhenUnwritable || context.channel.isWritable,
                let frame = try parser.nextFrame(from: &buffer)
            {
                guard frameReceived(frame, context: context) else { return }
            }
        } catch .frameTooLarge {
            fail(code: WebSocketCloseCode.messageTooBig, reason: "frame too large", context: context)
            return
        } catch {
            fail(code: WebSocketCloseCode.protocolError, reason: "malformed frame", context: context)
            return
        }
        guard self.context != nil else { return }
        pending.keep(&buffer, allocator: context.channel.allocator)
        if configuration.pausesWhenUnwritable, !context.channel.isWritable, !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// Runs the assembler's action for one frame; false once the connection is ending.
    private func frameReceived(_ frame: WebSocketFrame, context: ChannelHandlerContext) -> Bool {
        switch assembler.frameReceived(frame) {
        case .none, .pongReceived:
            return true
        case .message(let opcode, let payload):
            if let sink {
                sink.received(WebSocketMessage(isBinary: opcode == .binary, payload: payload), on: context.channel)
            } else {
                context.fireChannelRead(wrapInboundOut(payload))
            }
            return true
        case .sendPong(let payload):
            let pong = WebSocketFrameWriter.frame(opcode: .pong, payload: payload, allocator: context.channel.allocator)
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
            return true
        case .replyToClose(let code):
            let reply = WebSocketFrameWriter.closeReply(echoing: code, allocator: context.channel.allocator)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
            return false
        case .closeCompleted:
            context.close(promise: nil)
            return false
        case .fail(let code, let reason):
            fail(code: code, reason: reason, context: context)
            return false
        }
    }

    /// Fails the connection (RFC 6455 §7.1.7): the close frame, then our side of the TCP connection. The
    /// socket is not closed outright: with the rest of a rejected frame still unread, the kernel would
    /// answer with a reset, and the peer could lose the close frame that says why. What it still sends is
    /// read and dropped until it closes too (or a few seconds pass).
    private func fail(code: UInt16, reason: String, context: ChannelHandlerContext) {
        failed = true
        assembler.closeSent()
        pending.clear()
        let frame = WebSocketFrameWriter.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(mode: .output, promise: nil)
        }
        context.eventLoop.scheduleTask(in: Self.failTimeout) { channel.close(promise: nil) }
    }

    // MARK: Closing

    /// Starts the closing handshake with `reason`'s code and text.
    package func close(_ reason: DisconnectReason) {
        close(code: reason.webSocketCloseCode, reason: reason.text)
    }

    /// Starts the closing handshake: our close frame, then the peer's answer closes the connection. A peer
    /// that never reads what is queued for it (and so never sees our close frame) is cut off after the
    /// goodbye timeout. Nothing more is sent meanwhile, so memory stays bounded.
    package func close(code: UInt16, reason: String) {
        guard let context, !assembler.isClosing, context.channel.isActive else { return }
        assembler.closeSent()
        let frame = WebSocketFrameWriter.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: configuration.goodbyeTimeout) { channel.close(promise: nil) }
    }

    package func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?)
    {
        guard let request = event as? WebSocketCloseRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed(())
        close(code: request.code, reason: request.reason)
    }

    package func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        // The protocol behind closes (STOMP after ERROR or DISCONNECT): say goodbye the WebSocket way first.
        guard mode == .all, !assembler.isClosing, context.channel.isActive else {
            context.close(mode: mode, promise: promise)
            return
        }
        assembler.closeSent()
        let frame = WebSocketFrameWriter.closeFrame(
            code: WebSocketCloseCode.normal,
            reason: "",
            allocator: context.channel.allocator
        )
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            bound.value.close(mode: mode, promise: promise)
        }
        // A peer that stops reading would keep the close frame (and the channel) queued for ever.
        let channel = context.channel
        context.eventLoop.scheduleTask(in: configuration.goodbyeTimeout) { channel.close(promise: nil) }
    }

    // MARK: Keep-alive

    package func keepAliveTick() {
        // While closing, the goodbye timeout decides: the peer may still be reading what was queued.
        guard let context, let keepAlive, !assembler.isClosing else { return }
        // A tick that comes early (the round was reordered) must not judge a peer that had no time to answer.
        let now = NIODeadline.now()
        guard now - lastKeepAlive >= .nanoseconds(keepAlive.interval.nanoseconds / 2) else { return }
        lastKeepAlive = now
        guard heardFromPeer else {
            if !isWritable {
                // It has not taken what was sent for a whole interval (and is not read meanwhile, so its
                // pongs wait unread): a slow consumer, told so.
                let reason = DisconnectReason.slowConsumer
                fail(code: reason.webSocketCloseCode, reason: reason.text, context: context)
            } else {
                // Nothing at all (not even a pong) for a whole interval: the peer is gone.
                context.close(promise: nil)
            }
            return
        }
        heardFromPeer = false
        let ping = WebSocketFrameWriter.frame(
            opcode: .ping,
            payload: ByteBuffer(),
            allocator: context.channel.allocator
        )
        context.writeAndFlush(wrapOutboundOut(ping), promise: nil)
    }
}
