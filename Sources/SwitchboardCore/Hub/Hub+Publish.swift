import NIOCore

/// The outcome of a publish.
public struct PublishResult: Sendable {
    /// The stored message, with its assigned position.
    public var message: Message
    /// How many subscribers the channel had when the message was published.
    public var subscribers: Int
}

extension Hub {
    /// Publishes `request` to `channel`: assigns the next position, stores the message in history and hands
    /// it to every event loop that has subscribers of the channel. Callable from any thread.
    @discardableResult
    public func publish(_ request: PublishRequest, to channel: ChannelName) -> PublishResult {
        let now = clock()
        let (message, subscribers, drainsToSchedule) = shard(for: channel).channels.withLock {
            channels -> (Message, Int, [LoopContext]) in
            let state = state(of: channel, in: &channels, now: now)
            state.lastOffset += 1
            state.publishedCount += 1
            state.lastActivity = now
            let message = Message(
                channel: channel,
                position: StreamPosition(epoch: state.epoch, offset: state.lastOffset),
                payload: request.payload,
                contentType: request.contentType,
                eventType: request.eventType,
                headers: request.headers,
                timestamp: now
            )
            state.history.append(message, now: now)
            guard !state.loops.isEmpty else { return (message, state.subscriberCount, []) }
            // Handed to the loops' inboxes under the channel's lock, so that two publishers on different
            // threads cannot reach a loop in the opposite order of their positions (the later message would
            // hide the earlier one: subscribers skip positions they have passed). Encoding once per wire
            // format in use happens here too; waking the loops (a syscall) happens after the lock.
            let delivery = Delivery(
                message: message,
                formatsInUse: state.formatCounts,
                encoders: encoders,
                allocator: allocator
            )
            return (message, state.subscriberCount, state.enqueue(.deliver(delivery)))
        }
        publishedCount.wrappingIncrement(ordering: .relaxed)
        for context in drainsToSchedule { context.scheduleDrain() }
        return PublishResult(message: message, subscribers: subscribers)
    }
}
