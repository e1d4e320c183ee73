import Atomics
import NIOCore
import NIOWebSocket
import SwitchboardCore
import SwitchboardWebSocket

/// A `/sub/...` WebSocket: a channel subscriber that writes pre-encoded frames, and (where the policy
/// allows it) publishes what the client sends. A sink of the shared ``WebSocketConnectionHandler``, which
/// does the frames, the pings and the closing.
final class WebSocketSubscriber: WebSocketMessageSink, ChannelSubscriber {
    private let service: HTTPService
    private let request: SubscribeRequest
    private let format: WireFormat
    private var subscriptions: SubscriptionSet
    private var connection: WebSocketConnectionHandler?
    private var context: ChannelHandlerContext?
    private var channel: (any Channel)?

    init(service: HTTPService, request: SubscribeRequest) {
        self.service = service
        self.request = request
        self.format = request.webSocketMetadata ? service.formats.webSocketMeta : service.formats.webSocketRaw
        self.subscriptions = SubscriptionSet(channels: request.channels)
    }

    /// The handshake's claim: the metadata subprotocol when asked for, pings on.
    static func upgrade(service: HTTPService, request: SubscribeRequest) -> WebSocketUpgrade {
        WebSocketUpgrade(subprotocol: request.webSocketMetadata ? SubscribeRequest.metadataSubprotocol : nil) {
            channel in
            [
                WebSocketUpgrade.sink(
                    WebSocketSubscriber(service: service, request: request),
                    service: service,
                    pings: true,
                    on: channel
                )
            ]
        }
    }

    // MARK: WebSocketMessageSink

    func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext) {
        self.connection = connection
        self.context = context
        self.channel = context.channel
        service.counters.webSocket.wrappingIncrement(ordering: .relaxed)
        // With a shared engine, channels this node does not mirror yet are made ready first.
        service.hub.whenReady(request.channels, on: context.eventLoop) { [self] in
            guard let context = self.context else { return }  // closed meanwhile
            startSubscription(context: context)
        } refused: { [self] refusal in
            self.connection?.close(code: WebSocketCloseCode.tryAgainLater, reason: String(refusal.message.prefix(120)))
        }
    }

    func detached(from channel: any Channel) {
        guard self.channel != nil else { return }
        connection = nil
        context = nil
        self.channel = nil
        service.counters.webSocket.wrappingDecrement(ordering: .relaxed)
        subscriptions.unsubscribeAll(hub: service.hub, on: channel.eventLoop)
    }

    func shutdown(_ channel: any Channel) {
        connection?.close(.shutdown)
    }

    /// A message from the client: a publish to the one channel, where the policy and the Origin allow it.
    func received(_ message: WebSocketMessage, on channel: any Channel) {
        guard request.channels.count == 1, request.originMayPublish,
            service.configuration.policy.allows(.publish, request.channels[0].rawValue, by: request.principal)
        else {
            connection?.close(.policyViolation)
            return
        }
        var publish = PublishRequest(
            payload: message.payload,
            contentType: message.isBinary ? "application/octet-stream" : "text/plain; charset=utf-8"
        )
        publish.source = MemoryBudget.Source(request.principal)
        let subscriber = NIOLoopBound(self, eventLoop: channel.eventLoop)
        service.hub.publish(publish, to: request.channels[0], on: channel.eventLoop).whenFailure { error in
            let message = (error as? HubRefusal)?.message ?? "\(error)"
            subscriber.value.connection?.close(
                code: WebSocketCloseCode.tryAgainLater,
                reason: String(message.prefix(120))
            )
        }
    }

    /// A live gap (the shared engine lost messages or began a new epoch): a metadata client gets the same
    /// `switchboard-gap` frame as on a resume with a gap; a raw frame stream, which cannot say it, is closed
    /// as a resume with a gap would be.
    func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription) {
        guard let context else { return }
        guard request.webSocketMetadata else {
            connection?.close(.positionTooOld)
            return
        }
        writeGap(
            SubscriptionSet.Gap(channel: subscription.channel, reason: gap, requested: from, firstDelivered: nil),
            context: context
        )
        context.flush()
    }

    private func writeGap(_ gap: SubscriptionSet.Gap, context: ChannelHandlerContext) {
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
        let encoded = WebSocketFrameWriter.frame(opcode: .text, payload: frame, allocator: context.channel.allocator)
        context.write(NIOAny(encoded), promise: nil)
    }

    private func startSubscription(context: ChannelHandlerContext) {
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
            connection?.close(code: WebSocketCloseCode.tryAgainLater, reason: String(error.message.prefix(120)))
            return
        }
        if !gaps.isEmpty && !request.webSocketMetadata {
            // A raw frame stream has no way to say "you missed messages" in-band: refuse explicitly.
            connection?.close(.positionTooOld)
            return
        }
        for gap in gaps { writeGap(gap, context: context) }
        // No cursor to advance: WebSocket subscribers get no compound ids (see `deliver`).
        let encoder = WebSocketMessageEncoder(includesMetadata: request.webSocketMetadata)
        for message in backlog {
            context.write(NIOAny(encoder.encode(message, allocator: context.channel.allocator)), promise: nil)
        }
        context.flush()
    }

    // MARK: ChannelSubscriber

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        // The hot path: no per-delivery allocation, and `channel` is kept rather than looked up through the
        // context. (The per-channel cursor of SubscriptionSet only matters for compound ids, which a
        // WebSocket subscriber does not get; `subscription.position` tracks the position.)
        guard let context, let channel, let connection, !connection.isClosing else { return }
        guard connection.isWritable else {
            connection.close(.slowConsumer)
            return
        }
        let frame = delivery.encoded(format, allocator: channel.allocator)
        if flush {
            context.writeAndFlush(NIOAny(frame), promise: nil)
        } else {
            context.write(NIOAny(frame), promise: nil)
        }
    }

    func channelDeleted(_ subscription: Subscription) {
        connection?.close(.channelDeleted)
    }
}
