import NIOCore
import NIOWebSocket
import SwitchboardCore

/// Asks the ``WebSocketTransportHandler`` in front to close with this code and reason (sent down the
/// pipeline with `triggerUserOutboundEvent`). The connection closes when the peer answers, or after
/// ``HTTPService/goodbyeTimeout``.
struct WebSocketCloseRequest: Sendable {
    var code: UInt16
    var reason: String
}

/// A complete WebSocket message with its kind, for protocols that tell text from binary (Engine.IO).
struct WebSocketMessage: Sendable {
    var isBinary: Bool
    var payload: ByteBuffer
}

/// Where a ``WebSocketTransportHandler`` hands messages when no handler sits behind it: a protocol object
/// that is not a channel handler (an Engine.IO session), which saves a handler and its pipeline context
/// per connection. Called on the channel's event loop.
protocol WebSocketMessageSink: AnyObject {
    /// The transport is in the pipeline: the sink may write (through `context`, the transport's, when it
    /// is on the channel's loop; through the channel otherwise).
    func attached(to channel: any Channel, context: ChannelHandlerContext)
    func received(_ message: WebSocketMessage, on channel: any Channel)
    /// The connection ended.
    func detached(from channel: any Channel)
    /// The server is shutting down.
    func shutdown(_ channel: any Channel)
    /// The connection can take more (or no more) output.
    func writabilityChanged(_ channel: any Channel, isWritable: Bool)
}

extension WebSocketMessageSink {
    func writabilityChanged(_ channel: any Channel, isWritable: Bool) {}
}

/// WebSocket as a message transport for a protocol handler behind it (STOMP over WebSocket, the native
/// protocol): parses frames, answers pings and the closing handshake, pings a quiet peer every ping
/// interval and closes one that stays silent, and passes the payload of every complete text or binary
/// message on as a `ByteBuffer`. Outbound, the protocol handler writes finished frames (it frames them
/// itself, so an encode-once frame is written as is); closing the channel, or a ``WebSocketCloseRequest``,
/// sends a close frame first.
final class WebSocketTransportHandler: ChannelDuplexHandler, RemovableChannelHandler, KeepAliveParticipant {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let service: HTTPService
    private var assembler: WebSocketFrameAssembler
    private let parser: WebSocketFrameParser
    private var pending = PartialInput()
    private var context: ChannelHandlerContext?
    private var heardFromPeer = true
    private var lastKeepAlive = NIODeadline.now()
    private let pings: Bool
    /// Where messages go, with their kind, instead of down the pipeline.
    private let sink: (any WebSocketMessageSink)?
    /// Set once the connection failed (a bad frame): what the peer still sends is discarded.
    private var failed = false
    /// Whether messages wait while the connection cannot take more output (request/response protocols).
    private let pausesWhenUnwritable: Bool
    /// Set while reading is stopped because the peer does not take in what was written to it.
    private var readingPaused = false

    /// `pings`: whether to ping the peer every `channels.ping_interval` and close it when it stays silent
    /// (protocols with heart-beats of their own, like STOMP, need not). `pausesWhenUnwritable`: whether a
    /// peer that does not read its answers is not read either until it does: every message may cause an
    /// answer (a command's reply, a receipt, missed messages), and answers must not pile up without
    /// bound (the bridge, which manages its reads itself, says no).
    init(
        service: HTTPService,
        pings: Bool,
        sink: (any WebSocketMessageSink)? = nil,
        pausesWhenUnwritable: Bool = true
    ) {
        self.service = service
        self.pings = pings
        self.sink = sink
        self.pausesWhenUnwritable = pausesWhenUnwritable
        self.assembler = WebSocketFrameAssembler(maxMessageSize: service.configuration.maxMessageSize)
        self.parser = WebSocketFrameParser(maxFrameSize: service.configuration.maxMessageSize)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if pings { service.keepAliveTimer(on: context.eventLoop).add(self) }
        sink?.attached(to: context.channel, context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sink?.writabilityChanged(context.channel, isWritable: context.channel.isWritable)
        context.fireChannelWritabilityChanged()
        guard context.channel.isWritable, self.context != nil, !failed else { return }
        // The peer took in its answers: the messages that waited go first, then reading resumes.
        if !pending.isEmpty {
            process(ByteBuffer(), context: context)
            context.fireChannelReadComplete()  // the protocol behind flushes its answers then
        }
        if readingPaused, context.channel.isWritable {
            readingPaused = false
            context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            context.read()
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let sink, event is GracefulShutdownEvent {
            sink.shutdown(context.channel)
        } else if event is TokenExpiredEvent {
            sendClose(
                code: DisconnectReason.tokenExpired.webSocketCloseCode,
                reason: DisconnectReason.tokenExpired.text,
                context: context
            )
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown(context: context)
        context.fireChannelInactive()
    }

    private func tearDown(context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        self.context = nil
        if pings { service.keepAliveTimer(on: context.eventLoop).remove(self) }
        sink?.detached(from: context.channel)
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        heardFromPeer = true
        process(unwrapInboundIn(data), context: context)
    }

    /// Runs the frames of `input` (after what was kept from earlier reads); stops, keeping the rest, when
    /// the connection cannot take more output and this transport pauses then.
    private func process(_ input: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = pending.joined(with: input)
        do {
            while !pausesWhenUnwritable || context.channel.isWritable, let frame = try parser.nextFrame(from: &buffer) {
                guard frameReceived(frame, context: context) else { return }
            }
        } catch .frameTooLarge {
            fail(code: WebSocketCloseCode.messageTooBig, reason: "frame too large", context: context)
            return
        } catch {
            fail(code: WebSocketCloseCode.protocolError, reason: "malformed frame", context: context)
            return
        }
        pending.keep(&buffer, allocator: context.channel.allocator)
        if pausesWhenUnwritable, !context.channel.isWritable, !readingPaused {
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
        context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
    }

    // MARK: Outbound

    func triggerUserOutboundEvent(context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?) {
        guard let request = event as? WebSocketCloseRequest else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        promise?.succeed(())
        sendClose(code: request.code, reason: request.reason, context: context)
    }

    /// The closing handshake: our close frame, then the peer's answer closes the connection; a peer that
    /// never reads what is queued for it is cut off after the goodbye timeout.
    private func sendClose(code: UInt16, reason: String, context: ChannelHandlerContext) {
        guard !assembler.isClosing, context.channel.isActive else { return }
        assembler.closeSent()
        let frame = WebSocketFrameWriter.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
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
        context.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
    }

    // MARK: Keep-alive

    func keepAliveTick() {
        guard let context, !assembler.isClosing else { return }
        let now = NIODeadline.now()
        let halfInterval = TimeAmount.milliseconds(Int64(service.configuration.pingInterval * 500))
        guard now - lastKeepAlive >= halfInterval else { return }
        lastKeepAlive = now
        guard heardFromPeer else {
            if !context.channel.isWritable {
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
