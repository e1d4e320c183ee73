import Atomics
import NIOCore
import NIOWebSocket
import SwitchboardCore

/// A WebSocket connection after the handshake: a channel subscriber (`/sub/...`) or, for the conformance
/// suite, an echo endpoint (`/echo`). Frame rules live in ``WebSocketFrameAssembler``; this handler only
/// runs its actions, writes pre-encoded frames and keeps the connection alive with pings.
final class WebSocketHandler: ChannelInboundHandler, RemovableChannelHandler, ChannelSubscriber, KeepAliveParticipant {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Mode {
        case echo
        case subscribe(SubscribeRequest)
        /// Handled by ``STOMPWebSocket``, not by this handler.
        case stomp
        /// Handled by ``NativeChannelHandler``, not by this handler.
        case native
        /// Handled by ``EngineIOChannelHandler``, not by this handler: a new Engine.IO session, or the
        /// upgrade of session `sid`.
        case engineIO(EngineIOServer, sid: String?)
        /// Handled by ``BridgeSession``: a WebSocket glued to a TCP connection.
        case bridge(BridgeSession)
    }

    private let service: HTTPService
    private let mode: Mode
    private var assembler: WebSocketFrameAssembler
    private let parser: WebSocketFrameParser
    /// Bytes of a frame that has not fully arrived.
    private var pending = PartialInput()
    private var subscriptions: SubscriptionSet
    private var context: ChannelHandlerContext?
    private var channel: (any Channel)?
    /// The channel's writability, tracked from events: reading it from the channel on every delivery costs
    /// a cache miss per subscriber.
    private var isWritable = true
    private var heardFromPeer = true
    private var lastKeepAlive = NIODeadline.now()

    init(service: HTTPService, mode: Mode) {
        self.service = service
        self.mode = mode
        self.assembler = WebSocketFrameAssembler(maxMessageSize: service.configuration.maxMessageSize)
        self.parser = WebSocketFrameParser(maxFrameSize: service.configuration.maxMessageSize)
        if case .subscribe(let request) = mode {
            self.subscriptions = SubscriptionSet(channels: request.channels)
        } else {
            self.subscriptions = SubscriptionSet(channels: [])
        }
    }

    private var format: WireFormat {
        if case .subscribe(let request) = mode, request.webSocketMetadata { return service.formats.webSocketMeta }
        return service.formats.webSocketRaw
    }

    private var includesMetadata: Bool {
        if case .subscribe(let request) = mode { return request.webSocketMetadata }
        return false
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.channel = context.channel
        self.isWritable = context.channel.isWritable
        service.counters.webSocket.wrappingIncrement(ordering: .relaxed)
        service.keepAliveTimer(on: context.eventLoop).add(self)
        if case .subscribe(let request) = mode {
            startSubscription(request, context: context)
        }
    }

    private func startSubscription(_ request: SubscribeRequest, context: ChannelHandlerContext) {
        let backlog: [Message]
        let gaps: [SubscriptionSet.Gap]
        do {
            (backlog, gaps) = try subscriptions.subscribe(
                self,
                hub: service.hub,
                positions: request.positions,
                format: format,
                maxBytes: service.configuration.maxOutboundBytes / 2,
                on: context.eventLoop
            )
        } catch {
            // RFC 6455 §7.4.1: 1013, try again later (a server-wide limit).
            closeWith(code: WebSocketCloseCode.tryAgainLater, reason: String(error.message.prefix(120)))
            return
        }
        if !gaps.isEmpty && !request.webSocketMetadata {
            // A raw frame stream has no way to say "you missed messages" in-band: refuse explicitly.
            close(.positionTooOld)
            return
        }
        for gap in gaps {
            var frame = context.channel.allocator.buffer(capacity: 256)
            WebSocketMessageEncoder.writeMetadata(
                id: nil,
                channel: gap.channel.rawValue,
                contentType: "application/json",
                event: "switchboard-gap",
                into: &frame
            )
            var json = StreamingSubscriberHandler.gapJSON(gap)
            frame.writeBuffer(&json)
            write(WebSocketFrameWriter.frame(opcode: .text, payload: frame, allocator: context.channel.allocator))
        }
        // No cursor to advance: WebSocket subscribers get no compound ids (see `deliver`).
        let encoder = WebSocketMessageEncoder(includesMetadata: request.webSocketMetadata)
        for message in backlog {
            write(encoder.encode(message, allocator: context.channel.allocator))
        }
        context.flush()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown(context: context)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(context: context)
    }

    private func tearDown(context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        self.context = nil
        self.channel = nil
        service.keepAliveTimer(on: context.eventLoop).remove(self)
        service.counters.webSocket.wrappingDecrement(ordering: .relaxed)
        subscriptions.unsubscribeAll(hub: service.hub, on: context.eventLoop)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            close(.shutdown)
        } else if event is TokenExpiredEvent {
            close(.tokenExpired)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        heardFromPeer = true
        var buffer = pending.joined(with: unwrapInboundIn(data))
        do {
            while self.context != nil, let frame = try parser.nextFrame(from: &buffer) {
                frameReceived(frame, context: context)
            }
        } catch .frameTooLarge {
            fail(code: WebSocketCloseCode.messageTooBig, reason: "frame too large", context: context)
            return
        } catch {
            fail(code: WebSocketCloseCode.protocolError, reason: "malformed frame", context: context)
            return
        }
        if self.context != nil { pending.keep(&buffer, allocator: context.channel.allocator) }
    }

    private func frameReceived(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        switch assembler.frameReceived(frame) {
        case .none, .pongReceived:
            break
        case .message(let opcode, let payload):
            messageReceived(opcode: opcode, payload: payload, context: context)
        case .sendPong(let payload):
            context.writeAndFlush(
                wrapOutboundOut(
                    WebSocketFrameWriter.frame(opcode: .pong, payload: payload, allocator: context.channel.allocator)
                ),
                promise: nil
            )
        case .replyToClose(let code):
            let frame = WebSocketFrameWriter.closeReply(echoing: code, allocator: context.channel.allocator)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
        case .closeCompleted:
            context.close(promise: nil)
        case .fail(let code, let reason):
            fail(code: code, reason: reason, context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    private func messageReceived(opcode: WebSocketOpcode, payload: ByteBuffer, context: ChannelHandlerContext) {
        switch mode {
        case .echo, .stomp, .native, .engineIO, .bridge:
            context.writeAndFlush(
                wrapOutboundOut(
                    WebSocketFrameWriter.frame(opcode: opcode, payload: payload, allocator: context.channel.allocator)
                ),
                promise: nil
            )
        case .subscribe(let request):
            guard request.channels.count == 1, request.originMayPublish,
                service.configuration.policy.allows(.publish, request.channels[0].rawValue, by: request.principal)
            else {
                close(.policyViolation)
                return
            }
            var publish = PublishRequest(
                payload: payload,
                contentType: opcode == .text ? "text/plain; charset=utf-8" : "application/octet-stream"
            )
            publish.source = MemoryBudget.Source(request.principal)
            do {
                try service.hub.publish(publish, to: request.channels[0])
            } catch {
                closeWith(code: WebSocketCloseCode.tryAgainLater, reason: String(error.message.prefix(120)))
            }
        }
    }

    // MARK: ChannelSubscriber

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        // The hot path: no per-delivery allocation, and `channel` is kept rather than looked up through the
        // context. (The per-channel cursor of SubscriptionSet only matters for compound ids, which a
        // WebSocket subscriber does not get; `subscription.position` tracks the position.)
        guard let context, let channel, !assembler.isClosing else { return }
        guard isWritable else {
            close(.slowConsumer)
            return
        }
        let frame = delivery.encoded(format, allocator: channel.allocator)
        if flush {
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        } else {
            context.write(wrapOutboundOut(frame), promise: nil)
        }
    }

    func channelDeleted(_ subscription: Subscription) {
        close(.channelDeleted)
    }

    // MARK: Outbound

    private func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    /// Starts the closing handshake. The peer answers with its close frame (then the connection closes);
    /// one that never reads its queued messages — and so never sees our close frame — is cut off after
    /// ``HTTPService/goodbyeTimeout``. Nothing more is queued meanwhile, so memory stays bounded.
    private func close(_ reason: DisconnectReason) {
        closeWith(code: reason.webSocketCloseCode, reason: reason.text)
    }

    private func closeWith(code: UInt16, reason: String) {
        guard let context, !assembler.isClosing else { return }
        assembler.closeSent()
        let frame = WebSocketFrameWriter.closeFrame(
            code: code,
            reason: reason,
            allocator: context.channel.allocator
        )
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        let channel = context.channel
        context.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
    }

    /// Fails the connection (RFC 6455 §7.1.7): a close frame with the code, then the TCP connection is closed.
    /// Our side of the TCP connection closes after the close frame, not the whole socket: with the rest
    /// of a rejected frame unread, the kernel would answer with a reset and the peer could lose the close
    /// frame that says why. What it still sends is dropped (the handler is torn down) until it closes too,
    /// or a few seconds pass.
    private func fail(code: UInt16, reason: String, context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        let frame = WebSocketFrameWriter.closeFrame(code: code, reason: reason, allocator: context.channel.allocator)
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(mode: .output, promise: nil) }
        context.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        tearDown(context: context)
    }

    func keepAliveTick() {
        // While closing, the goodbye timeout decides: the peer may still be reading what was queued.
        guard let context, !assembler.isClosing else { return }
        // A tick that comes early (the round was reordered) must not judge a peer that had no time to answer.
        let now = NIODeadline.now()
        let halfInterval = TimeAmount.milliseconds(Int64(service.configuration.pingInterval * 500))
        guard now - lastKeepAlive >= halfInterval else { return }
        lastKeepAlive = now
        guard heardFromPeer else {
            // Nothing at all (not even a pong) for a whole interval. With messages piling up unsent it is a
            // peer that stopped reading: tell it why (it may still read and resume). Otherwise it is gone.
            if !isWritable {
                close(.slowConsumer)
            } else {
                context.close(promise: nil)
            }
            return
        }
        heardFromPeer = false
        let frame = WebSocketFrameWriter.frame(
            opcode: .ping,
            payload: ByteBuffer(),
            allocator: context.channel.allocator
        )
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}
