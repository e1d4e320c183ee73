import Atomics
import NIOCore
import NIOHTTP1
import SwitchboardCore

/// Serves an SSE or chunked-stream subscriber once its response head is written: every message becomes one
/// pre-encoded HTTP chunk written as-is. Thin: encoding is in ``SSEEncoder`` / ``StreamTemplateEncoder``,
/// positions in ``SubscriptionSet``.
final class StreamingSubscriberHandler: ChannelInboundHandler, RemovableChannelHandler, ChannelSubscriber,
    KeepAliveParticipant
{
    typealias InboundIn = NIOAny
    typealias OutboundOut = ByteBuffer

    enum Kind { case sse, stream }

    private let service: HTTPService
    private let kind: Kind
    private var subscriptions: SubscriptionSet
    private var context: ChannelHandlerContext?
    private var pendingBacklog: [Message] = []
    private var pendingGaps: [SubscriptionSet.Gap] = []
    private var isEnding = false
    /// The channel's writability, tracked from events rather than read on every delivery.
    private var isWritable = true

    init(service: HTTPService, kind: Kind, channels: [ChannelName]) {
        self.service = service
        self.kind = kind
        self.subscriptions = SubscriptionSet(channels: channels)
    }

    /// Subscribes (on the connection's loop, before the response head is written) and returns the gaps,
    /// which the response head announces. The backlog is written when the handler is added.
    func subscribe(
        positions: [StreamPosition?],
        on eventLoop: any EventLoop
    ) throws(HubRefusal) -> [SubscriptionSet.Gap] {
        let format: WireFormat? = subscriptions.isMultiChannel && kind == .sse ? nil : ownFormat
        let (backlog, gaps) = try subscriptions.subscribe(
            self,
            hub: service.hub,
            positions: positions,
            format: format,
            maxBytes: service.configuration.maxOutboundBytes / 2,
            on: eventLoop
        )
        pendingBacklog = backlog
        pendingGaps = gaps
        return gaps
    }

    private var ownFormat: WireFormat { kind == .sse ? service.formats.sse : service.formats.stream }
    private var counter: ManagedAtomic<Int> { kind == .sse ? service.counters.sse : service.counters.stream }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.isWritable = context.channel.isWritable
        counter.wrappingIncrement(ordering: .relaxed)
        if kind == .sse {
            for gap in pendingGaps {
                write(
                    SSEEncoder.encodeNotice(
                        event: "switchboard-gap",
                        json: Self.gapJSON(gap),
                        allocator: context.channel.allocator
                    )
                )
            }
        }
        for message in pendingBacklog {
            guard let tag = subscriptions.index(of: message.channel) else { continue }
            subscriptions.advance(to: message, tag: tag)
            write(encode(message, shared: nil, allocator: context.channel.allocator))
        }
        pendingBacklog = []
        pendingGaps = []
        context.flush()
        service.keepAliveTimer(on: context.eventLoop).add(self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown(context: context)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // A streaming subscriber has nothing more to say; anything it sends (pipelined requests) is ignored.
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            end(with: .shutdown)
        } else if event is TokenExpiredEvent {
            end(with: .tokenExpired)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: ChannelSubscriber

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        guard let context, !isEnding else { return }
        guard isWritable else {
            end(with: .slowConsumer)
            return
        }
        // Only compound (multi-channel) ids need the per-channel cursor.
        if subscriptions.isMultiChannel { subscriptions.advance(to: delivery.message, tag: subscription.tag) }
        write(encode(delivery.message, shared: delivery, allocator: context.channel.allocator))
        if flush { context.flush() }
    }

    /// A live gap (the shared engine lost messages or began a new epoch): an SSE client gets the same
    /// `switchboard-gap` event as on a resume with a gap; the template stream has no way to say it.
    func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription) {
        subscriptions.move(tag: subscription.tag, to: subscription.position)
        guard let context, !isEnding, kind == .sse else { return }
        let notice = SubscriptionSet.Gap(
            channel: subscription.channel,
            reason: gap,
            requested: from,
            firstDelivered: nil
        )
        write(
            SSEEncoder.encodeNotice(
                event: "switchboard-gap",
                json: Self.gapJSON(notice),
                allocator: context.channel.allocator
            )
        )
        context.flush()
    }

    func channelDeleted(_ subscription: Subscription) {
        guard let context, !isEnding else { return }
        switch kind {
        case .sse:
            var json = JSONWriter(allocator: context.channel.allocator)
            json.beginObject()
            json.string("channel", subscription.channel.rawValue)
            json.endObject()
            write(
                SSEEncoder.encodeNotice(
                    event: "switchboard-channel-deleted",
                    json: json.buffer,
                    allocator: context.channel.allocator
                )
            )
        case .stream:
            write(
                service.streamTemplate.render(
                    id: "",
                    channel: subscription.channel.rawValue,
                    eventType: "switchboard-channel-deleted",
                    contentType: "",
                    time: service.hub.clock(),
                    text: ByteBuffer(string: "channel deleted"),
                    allocator: context.channel.allocator
                )
            )
        }
        finish(context: context)
    }

    // MARK: Private

    private func encode(_ message: Message, shared: Delivery?, allocator: ByteBufferAllocator) -> ByteBuffer {
        if kind == .sse && subscriptions.isMultiChannel {
            return SSEEncoder.encodeEvent(message, id: subscriptions.compoundPosition, allocator: allocator)
        }
        if let shared { return shared.encoded(ownFormat, allocator: allocator) }
        return kind == .sse
            ? SSEEncoder().encode(message, allocator: allocator)
            : service.streamTemplate.encode(message, allocator: allocator)
    }

    private func write(_ buffer: ByteBuffer) {
        context?.write(wrapOutboundOut(buffer), promise: nil)
    }

    func keepAliveTick() {
        guard let context, !isEnding else { return }
        switch kind {
        case .sse:
            write(SSEEncoder.encodeComment("ping", allocator: context.channel.allocator))
        case .stream:
            let encoder = service.streamPingTemplate
            write(
                encoder.render(
                    id: "",
                    channel: "",
                    eventType: "ping",
                    contentType: "",
                    time: service.hub.clock(),
                    text: ByteBuffer(),
                    allocator: context.channel.allocator
                )
            )
        }
        context.flush()
    }

    /// Says goodbye (SSE: an event with the reason) and ends the response.
    private func end(with reason: DisconnectReason) {
        guard let context, !isEnding else { return }
        if kind == .sse {
            var json = JSONWriter(allocator: context.channel.allocator)
            json.beginObject()
            json.string("reason", reason.token)
            json.endObject()
            write(
                SSEEncoder.encodeNotice(
                    event: "switchboard-disconnect",
                    json: json.buffer,
                    allocator: context.channel.allocator
                )
            )
        }
        finish(context: context)
    }

    private func finish(context: ChannelHandlerContext) {
        isEnding = true
        tearDown(context: context)
        var last = context.channel.allocator.buffer(capacity: 8)
        last.writeStaticString(ChunkedEncoding.lastChunk)
        // The goodbye and the last chunk leave after what is queued; a peer that reads nothing is cut off
        // after the goodbye timeout.
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(last)).whenComplete { _ in channel.close(promise: nil) }
        context.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
    }

    private func tearDown(context: ChannelHandlerContext) {
        if self.context != nil {
            counter.wrappingDecrement(ordering: .relaxed)
            service.keepAliveTimer(on: context.eventLoop).remove(self)
        }
        subscriptions.unsubscribeAll(hub: service.hub, on: context.eventLoop)
        self.context = nil
    }

    static func gapJSON(_ gap: SubscriptionSet.Gap) -> ByteBuffer {
        var json = JSONWriter()
        json.beginObject()
        json.string("channel", gap.channel.rawValue)
        json.string("reason", gap.reason.rawValue)
        json.string("requested", gap.requested.description)
        json.string("first", gap.firstDelivered?.description)
        json.endObject()
        return json.buffer
    }
}
