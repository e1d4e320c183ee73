import Atomics
public import NIOCore
public import SwitchboardCore

/// One STOMP connection, over TCP or (behind a WebSocket handler) over WebSocket. Thin: bytes go through
/// ``STOMPFrameDecoder``, frames through ``STOMPSession``, and this handler runs the session's actions
/// against the hub (topics) and the queue store, and writes frames.
///
/// Topic messages arrive from the hub already encoded once per STOMP version (``TopicMessageEncoder``); each
/// subscription writes only its own `MESSAGE\nsubscription:ID\n` in front of the shared bytes.
public final class STOMPConnectionHandler: ChannelInboundHandler, ChannelSubscriber, QueueSink {
    public typealias InboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    /// How frames are wrapped for the transport: over WebSocket each frame is one message, so a frame header
    /// (text or binary, for a payload of the given length) goes in front of it. TCP needs none.
    public struct Framing: Sendable {
        /// Writes the transport's header for one frame of `length` bytes.
        public let writeHeader: @Sendable (_ isText: Bool, _ length: Int, _ buffer: inout ByteBuffer) -> Void

        public init(
            writeHeader: @escaping @Sendable (_ isText: Bool, _ length: Int, _ buffer: inout ByteBuffer) -> Void
        ) {
            self.writeHeader = writeHeader
        }
    }

    private struct TopicSubscription {
        let hubSubscription: SwitchboardCore.Subscription
        /// `MESSAGE\nsubscription:ID\n`, written before every shared encoding.
        let prefix: ByteBuffer
        let needsAck: Bool
    }

    /// How long a connection being closed by the server gets to take in what is queued for it.
    static let goodbyeTimeout = TimeAmount.seconds(30)

    private let service: STOMPService
    private let framing: Framing?
    private var session: STOMPSession
    private var decoder: STOMPFrameDecoder
    private var pending = PartialInput()
    private var context: ChannelHandlerContext?
    private var topics: [Int: TopicSubscription] = [:]
    private var consumers: [Int: QueueConsumer] = [:]
    /// Auto-acknowledged queue deliveries written while the connection could not take more: settled when
    /// it drains (consumer key -> last tag).
    private var autoSettleWhenWritable: [Int: UInt64] = [:]
    private var isWritable = true
    /// Set while reading is stopped because the client does not take its answers in.
    private var readingPaused = false
    private var needsFlush = false
    private var closing = false
    private var format: WireFormat

    // Heart-beats: when the connection last read and last flushed (once per batch, not per frame), looked
    // at by a timer.
    private var heartBeat: (send: Int, receive: Int, period: Int) = (0, 0, 0)
    private var heartBeatTask: RepeatedTask?
    private var lastRead = NIODeadline.now()
    private var lastWrite = NIODeadline.now()
    /// The `receipt` of the frame being handled, for an error found while running its actions.
    private var currentReceipt: String?
    /// The body bytes of open transactions taken from the server's memory budget.
    private var reservedTransactionBytes = 0
    /// Ends a connection that has not sent CONNECT in time.
    private var connectDeadline: Scheduled<Void>?

    init(service: STOMPService, framing: Framing?) {
        self.service = service
        self.framing = framing
        self.session = STOMPSession(id: RandomID.make(length: 12), configuration: service.sessionConfiguration)
        self.decoder = STOMPFrameDecoder(limits: service.configuration.decoderLimits)
        self.format = service.formats.format(for: .v12)
    }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        self.isWritable = context.channel.isWritable
        let seconds = service.configuration.connectTimeout
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        connectDeadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            let handler = handler.value
            handler.run(handler.session.connectTimedOut(seconds: seconds))
            handler.flushIfNeeded()
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        tearDown()
        context.fireChannelInactive()
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        tearDown()
    }

    private func tearDown() {
        guard context != nil else { return }
        heartBeatTask?.cancel()
        heartBeatTask = nil
        connectDeadline?.cancel()
        connectDeadline = nil
        run(session.connectionClosed())
        accountTransactions()
        service.queues.removeTemporaryQueues(of: session.id)
        self.context = nil
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            run(session.fail(.shutdown))
            flushIfNeeded()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    public func channelWritabilityChanged(context: ChannelHandlerContext) {
        isWritable = context.channel.isWritable
        for consumer in consumers.values { consumer.queue.setReady(consumer, isWritable) }
        if isWritable {
            let settle = autoSettleWhenWritable
            autoSettleWhenWritable = [:]
            for (key, tag) in settle {
                guard let consumer = consumers[key] else { continue }
                consumer.queue.settle(consumer, tag: tag, accept: true, cumulative: true)
            }
            // Frames read while the client was not taking its answers: their turn now, then read on.
            if !pending.isEmpty { processFrames(ByteBuffer(), context: context) }
            flushIfNeeded()
            if readingPaused {
                readingPaused = false
                context.channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
                context.read()
            }
        }
        context.fireChannelWritabilityChanged()
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        processFrames(unwrapInboundIn(data), context: context)
    }

    /// Runs the frames in `input` (after what was kept from earlier reads). A client whose answers
    /// (receipts, a subscription's missed messages) it does not take in fills the output budget: its
    /// further frames then wait, unread, until the connection drains — answers never pile up unbounded.
    private func processFrames(_ input: ByteBuffer, context: ChannelHandlerContext) {
        var buffer = pending.joined(with: input)
        do {
            while !closing, self.context != nil, isWritable, let frame = try decoder.next(from: &buffer) {
                service.counters.framesReceived.wrappingIncrement(ordering: .relaxed)
                currentReceipt = frame["receipt"]
                let actions = session.receive(frame)
                // Before the actions: what a COMMIT lets go of is given back before its messages take their
                // own place in history (counted twice, a commit near the limit was refused halfway), and
                // what a SEND adds to a transaction is taken before its receipt says it was.
                if accountTransactions() { run(actions) }
                currentReceipt = nil
                decoder.escaping = session.escaping
                format = service.formats.format(for: session.version)
                if session.state != .awaitingConnect, let deadline = connectDeadline {
                    deadline.cancel()
                    connectDeadline = nil
                }
            }
        } catch {
            run(session.fail(.decoding(error)))
        }
        guard !closing else { return }
        pending.keep(&buffer, allocator: context.channel.allocator)
        if !isWritable, !readingPaused {
            readingPaused = true
            context.channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        }
    }

    /// Takes what open transactions hold from the server's memory budget (or gives it back); a client
    /// whose transactions cannot fit is ended with an ERROR.
    @discardableResult
    private func accountTransactions() -> Bool {
        let held = session.pendingTransactionBytes
        let change = held - reservedTransactionBytes
        if change < 0 {
            service.hub.memory.release(-change, for: .transactions)
        } else if change > 0, !service.hub.memory.reserve(change, for: .transactions, by: .init(session.principal)) {
            run(session.fail(.refused(.memoryFull(limit: service.hub.memory.limit)), receipt: currentReceipt))
            return false
        }
        reservedTransactionBytes = held
        return true
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if heartBeat.receive > 0 { lastRead = .now() }
        flushIfNeeded()
        context.fireChannelReadComplete()
    }

    // MARK: Actions

    private func run(_ actions: [STOMPSession.Action]) {
        for action in actions {
            guard let context else { return }
            switch action {
            case .send(let frame):
                if frame.command == "ERROR" { service.counters.errorsSent.wrappingIncrement(ordering: .relaxed) }
                // CONNECTED is never escaped; the session's escaping already says so before it is connected.
                let escaping = frame.command == "CONNECTED" ? .none : session.escaping
                writeFrame(STOMPFrameEncoder.encode(frame, escaping: escaping), isText: true)
            case .startHeartBeats(let send, let receive):
                startHeartBeats(send: send, receive: receive, context: context)
            case .publish(let channel, let request):
                do {
                    try service.hub.publish(request, to: channel)
                } catch {
                    run(session.fail(.refused(error), receipt: currentReceipt))
                    return
                }
            case .enqueue(let queue, let request, let temporary):
                if case .failure(let error) = service.queues.send(request, to: queue, temporary: temporary) {
                    run(session.fail(Self.sessionError(error, queue: queue), receipt: currentReceipt))
                    return
                }
            case .subscribe(let subscription, let position):
                if case .failure(let error) = subscribe(subscription, resumeAfter: position, context: context) {
                    run(session.fail(error, receipt: currentReceipt))
                    return
                }
            case .unsubscribe(let subscription):
                unsubscribe(subscription, context: context)
            case .settle(let key, let tag, let accept, let cumulative):
                // A subscription that ended has had its unacknowledged messages requeued: nothing to do.
                guard let consumer = consumers[key] else { continue }
                if consumer.queue.settle(consumer, tag: tag, accept: accept, cumulative: cumulative) == 0 {
                    // Acknowledged before, or never delivered: the client's bookkeeping is wrong; say so
                    // rather than let it believe something happened.
                    run(session.fail(.unknownAckID("\(key).\(tag)"), receipt: currentReceipt))
                    return
                }
            case .close:
                // Closed once everything written is sent; a peer that does not read is cut off after the
                // goodbye timeout, so memory stays bounded.
                closing = true
                pending.clear()
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(ByteBuffer())).whenComplete { _ in
                    channel.close(promise: nil)
                }
                context.eventLoop.scheduleTask(in: Self.goodbyeTimeout) { channel.close(promise: nil) }
                needsFlush = false
            }
        }
    }

    private static func sessionError(_ error: QueueStore.SendError, queue: String) -> STOMPSessionError {
        switch error {
        case .tooManyQueues(let limit):
            return .tooManyQueues(limit: limit)
        case .full(.full(let length, let bytes)):
            return .queueFull(
                queue,
                "is full (stomp.max_queue_length = \(length) messages, stomp.max_queue_bytes = \(bytes) bytes)."
            )
        case .full(.removed), .noSuchTemporaryQueue:
            return .queueFull(queue, "was removed while the message was on its way; send it again.")
        case .full(.memoryFull(let limit)):
            return .refused(.memoryFull(limit: limit))
        }
    }

    // MARK: Subscriptions

    private func subscribe(
        _ subscription: STOMPSession.Subscription,
        resumeAfter position: StreamPosition?,
        context: ChannelHandlerContext
    ) -> Result<Void, STOMPSessionError> {
        switch subscription.destination {
        case .topic(let channel):
            var prefix = context.channel.allocator.buffer(capacity: 32 + subscription.id.utf8.count)
            prefix.writeString("MESSAGE\n")
            STOMPFrameEncoder.writeHeader("subscription", subscription.id, escaping: session.escaping, into: &prefix)
            let hubSubscription: SwitchboardCore.Subscription
            var resume: ResumeResult
            do {
                (hubSubscription, resume) = try service.hub.subscribe(
                    self,
                    to: channel,
                    from: position,
                    format: format,
                    tag: subscription.key,
                    on: context.eventLoop
                )
            } catch {
                return .failure(.refused(error))
            }
            // The missed messages are an answer too: at most half the output budget of them.
            resume = resume.limited(toBytes: service.configuration.maxOutboundBytes / 2)
            let topic = TopicSubscription(
                hubSubscription: hubSubscription,
                prefix: prefix,
                needsAck: subscription.ackMode != .auto
            )
            topics[subscription.key] = topic
            service.counters.topicSubscriptions.wrappingIncrement(ordering: .relaxed)
            if let gap = resume.gap, let position {
                writeGap(gap, channel: channel, requested: position, first: resume.messages.first, topic: topic)
            }
            let encoder = service.encoders[session.version]!
            for message in resume.messages {
                writeTopicMessage(
                    encoder.encode(message, allocator: context.channel.allocator),
                    message: message,
                    topic: topic
                )
            }
            return .success(())
        case .queue(let name):
            let owner = name.hasPrefix(STOMPDestination.temporaryQueuePrefix) ? session.id : nil
            switch service.queues.consume(
                name,
                owner: owner,
                subscriptionKey: subscription.key,
                prefetch: subscription.prefetch,
                maxBatchBytes: service.configuration.maxOutboundBytes / 2,
                eventLoop: context.eventLoop,
                sink: self
            ) {
            case .success(let consumer):
                consumers[subscription.key] = consumer
                service.counters.queueSubscriptions.wrappingIncrement(ordering: .relaxed)
                if !isWritable { consumer.queue.setReady(consumer, false) }
                return .success(())
            case .failure(let error):
                return .failure(Self.sessionError(error, queue: name))
            }
        }
    }

    private func unsubscribe(_ subscription: STOMPSession.Subscription, context: ChannelHandlerContext) {
        if let topic = topics.removeValue(forKey: subscription.key) {
            service.hub.unsubscribe(topic.hubSubscription, on: context.eventLoop)
            service.counters.topicSubscriptions.wrappingDecrement(ordering: .relaxed)
        }
        if let consumer = consumers.removeValue(forKey: subscription.key) {
            autoSettleWhenWritable[subscription.key] = nil
            consumer.queue.remove(consumer, now: service.hub.clock())
            service.counters.queueSubscriptions.wrappingDecrement(ordering: .relaxed)
        }
    }

    // MARK: ChannelSubscriber (topics)

    public func deliver(_ delivery: Delivery, on subscription: SwitchboardCore.Subscription, flush: Bool) {
        guard let context, !closing, let topic = topics[subscription.tag] else { return }
        guard isWritable else {
            run(session.fail(.slowConsumer))
            return
        }
        writeTopicMessage(
            delivery.encoded(format, allocator: context.channel.allocator),
            message: delivery.message,
            topic: topic
        )
        if flush { flushIfNeeded() }
    }

    public func channelDeleted(_ subscription: SwitchboardCore.Subscription) {
        // The channel was deleted (DELETE /pub/NAME). A STOMP destination does not go away: the
        // subscription carries on with the channel made anew (a new epoch).
        guard let context, let topic = topics[subscription.tag],
            let stompSubscription = session.subscription(key: subscription.tag)
        else { return }
        let renewed: SwitchboardCore.Subscription
        do {
            (renewed, _) = try service.hub.subscribe(
                self,
                to: subscription.channel,
                from: nil,
                format: format,
                tag: subscription.tag,
                on: context.eventLoop
            )
        } catch {
            run(session.fail(.refused(error)))
            flushIfNeeded()
            return
        }
        topics[stompSubscription.key] = TopicSubscription(
            hubSubscription: renewed,
            prefix: topic.prefix,
            needsAck: topic.needsAck
        )
    }

    /// Writes one topic `MESSAGE`: the subscription's prefix (and `ack`), then the shared encoding.
    private func writeTopicMessage(_ shared: ByteBuffer, message: Message, topic: TopicSubscription) {
        guard let context else { return }
        var prefix = topic.prefix
        if topic.needsAck {
            var withAck = context.channel.allocator.buffer(capacity: prefix.readableBytes + 48)
            withAck.writeImmutableBuffer(prefix)
            STOMPFrameEncoder.writeHeader(
                "ack",
                message.position.description,
                escaping: session.escaping,
                into: &withAck
            )
            prefix = withAck
        }
        if let framing {
            var head = context.channel.allocator.buffer(capacity: prefix.readableBytes + 10)
            framing.writeHeader(message.isText, prefix.readableBytes + shared.readableBytes, &head)
            head.writeImmutableBuffer(prefix)
            prefix = head
        }
        context.write(wrapOutboundOut(prefix), promise: nil)
        context.write(wrapOutboundOut(shared), promise: nil)
        needsFlush = true
    }

    private func writeGap(
        _ gap: GapReason,
        channel: ChannelName,
        requested: StreamPosition,
        first: Message?,
        topic: TopicSubscription
    ) {
        guard let context else { return }
        var json = JSONWriter(allocator: context.channel.allocator, capacity: 128)
        json.beginObject()
        json.string("channel", channel.rawValue)
        json.string("reason", gap.rawValue)
        json.string("requested", requested.description)
        json.string("first", first.map { $0.position.description })
        json.endObject()
        var shared = context.channel.allocator.buffer(capacity: 128 + json.buffer.readableBytes)
        STOMPFrameEncoder.writeHeader(
            "destination",
            "/topic/\(channel.rawValue)",
            escaping: session.escaping,
            into: &shared
        )
        STOMPFrameEncoder.writeHeader("message-id", "gap", escaping: session.escaping, into: &shared)
        STOMPFrameEncoder.writeHeader("switchboard-event", "gap", escaping: session.escaping, into: &shared)
        STOMPFrameEncoder.writeHeader("content-type", "application/json", escaping: session.escaping, into: &shared)
        TopicMessageEncoder.writeBody(json.buffer, into: &shared)
        var frame = topic.prefix
        frame.writeBuffer(&shared)
        writeFrame(frame, isText: true)
    }

    // MARK: QueueSink

    public func deliver(_ deliveries: [QueueDelivery], from consumer: QueueConsumer) {
        // A consumer that ended meanwhile (unsubscribed, closed): its unacknowledged deliveries, these
        // included, already went back to the queue.
        guard let context, !closing, consumers[consumer.subscriptionKey] === consumer,
            let subscription = session.subscription(key: consumer.subscriptionKey)
        else { return }
        let escaping = session.escaping
        let destination = "/queue/\(consumer.queue.name)"
        for delivery in deliveries {
            let message = delivery.message
            let id = "\(subscription.key).\(delivery.tag)"
            var frame = context.channel.allocator.buffer(capacity: 160 + message.payload.readableBytes)
            frame.writeString("MESSAGE\n")
            STOMPFrameEncoder.writeHeader("subscription", subscription.id, escaping: escaping, into: &frame)
            if subscription.ackMode != .auto {
                STOMPFrameEncoder.writeHeader("ack", id, escaping: escaping, into: &frame)
            }
            if message.redelivered {
                STOMPFrameEncoder.writeHeader("redelivered", "true", escaping: escaping, into: &frame)
            }
            TopicMessageEncoder.writeHeaders(
                destination: destination,
                messageID: id,
                contentType: message.contentType,
                headers: message.headers,
                escaping: escaping,
                into: &frame
            )
            TopicMessageEncoder.writeBody(message.payload, into: &frame)
            let isText = framing == nil || UTF8Validation.isValid(Array(message.payload.readableBytesView))
            writeFrame(frame, isText: isText)
        }
        flushIfNeeded()
        if subscription.ackMode == .auto, let last = deliveries.last {
            // Auto acknowledgement: settled once written, unless the connection is backed up; then when it
            // drains, so a slow consumer holds at most `prefetch` messages in memory.
            if isWritable {
                consumer.queue.settle(consumer, tag: last.tag, accept: true, cumulative: true)
            } else {
                autoSettleWhenWritable[subscription.key] = last.tag
            }
        }
    }

    // MARK: Output

    private func writeFrame(_ frame: ByteBuffer, isText: Bool) {
        guard let context else { return }
        if let framing {
            var head = context.channel.allocator.buffer(capacity: 10)
            framing.writeHeader(isText, frame.readableBytes, &head)
            context.write(wrapOutboundOut(head), promise: nil)
        }
        context.write(wrapOutboundOut(frame), promise: nil)
        needsFlush = true
    }

    private func flushIfNeeded() {
        guard needsFlush, let context else { return }
        needsFlush = false
        if heartBeat.send > 0 { lastWrite = .now() }
        context.flush()
    }

    // MARK: Heart-beats

    private func startHeartBeats(send: Int, receive: Int, context: ChannelHandlerContext) {
        // A quarter of the shorter interval: a beat goes out after 3/4 to 4/4 of the sending interval of
        // silence, and a silent peer is noticed within a quarter of its interval after the grace.
        let candidates = [send, receive].filter { $0 > 0 }.map { max(1, $0 / 4) }
        guard let period = candidates.min() else { return }
        heartBeat = (send, receive, period)
        lastRead = .now()
        lastWrite = .now()
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        heartBeatTask = context.eventLoop.scheduleRepeatedTask(
            initialDelay: .milliseconds(Int64(period)),
            delay: .milliseconds(Int64(period))
        ) { _ in
            handler.value.heartBeatTick()
        }
    }

    private func heartBeatTick() {
        guard context != nil, !closing else { return }
        let now = NIODeadline.now()
        let sinceReceived = Int((now - lastRead).nanoseconds / 1_000_000)
        // The next tick is a period away: send now if by then the silence would exceed the interval.
        let silenceByNextTick = Int((now - lastWrite).nanoseconds / 1_000_000) + heartBeat.period
        switch session.heartBeatTick(
            sinceReceived: sinceReceived,
            sinceSent: silenceByNextTick,
            send: heartBeat.send,
            receive: heartBeat.receive
        ) {
        case .nothing:
            break
        case .sendHeartBeat:
            writeFrame(ByteBuffer(string: "\n"), isText: true)
            flushIfNeeded()
        case .timedOut(let actions):
            run(actions)
            flushIfNeeded()
        }
    }
}
