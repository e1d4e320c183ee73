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
            channels -> (Message, [LoopContext], Int, [Int]) in
            var state = channels.removeValue(forKey: channel) ?? newChannelState(now: now)
            state.lastOffset += 1
            state.publishedCount += 1
            state.lastActivity = now
            let message = Message(
                channel: channel,
                position: StreamPosition(epoch: state.epoch, offset: state.lastOffset),
                payload: request.payload,
                contentType: request.contentType,
                eventType: request.eventType,
                timestamp: now
            )
            state.history.append(message, now: now)
            let targets = state.loops.map(\.context)
            let result = (message, targets, state.subscriberCount, state.formatCounts)
            channels[channel] = state
            return result
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
            for context in targets { context.enqueue(.deliver(delivery)) }
        }
        return PublishResult(message: message, subscribers: subscribers)
    }
}
