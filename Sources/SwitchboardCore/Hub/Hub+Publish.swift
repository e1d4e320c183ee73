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
        let (message, targets, subscribers, formatCounts) = shard(for: channel).channels.withLock {
            channels -> (Message, [LoopSubscriberCount], Int, [Int]) in
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
            return (message, state.loops, state.subscriberCount, state.formatCounts)
        }
        publishedCount.wrappingIncrement(ordering: .relaxed)
        if !targets.isEmpty {
            // Encoding happens outside the lock, once per wire format in use.
            let delivery = Delivery(
                message: message,
                formatsInUse: formatCounts,
                encoders: encoders,
                allocator: allocator
            )
            for target in targets { target.context.enqueue(.deliver(delivery)) }
        }
        return PublishResult(message: message, subscribers: subscribers)
    }
}
