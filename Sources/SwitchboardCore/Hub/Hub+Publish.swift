import Atomics
public import NIOCore
import Synchronization

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
    ///
    /// Throws, and publishes nothing, when history would take the retained bytes over
    /// `limits.max_memory`, or when the channel does not exist and `limits.max_channels` do.
    @discardableResult
    public func publish(_ request: PublishRequest, to channel: ChannelName) throws(HubRefusal) -> PublishResult {
        // With an engine, a publish waits for the engine's answer: ``publish(_:to:on:)``.
        if engine != nil {
            throw .engineUnavailable(reason: "this publish path does not support the shared engine yet")
        }
        let now = clock()
        let payload = Self.detached(request.payload)
        let (message, subscribers, drainsToSchedule) = try shard(for: channel).channels.withLock {
            channels throws(HubRefusal) -> (Message, Int, [LoopContext]) in
            let existed = channels[channel] != nil
            let state = try state(of: channel, in: &channels, now: now)
            let message = Message(
                channel: channel,
                position: StreamPosition(epoch: state.epoch, offset: state.lastOffset + 1),
                payload: payload,
                contentType: request.contentType,
                eventType: request.eventType,
                headers: request.headers,
                timestamp: now
            )
            guard keep(message, in: state, now: now, source: request.source) else {
                if !existed { forget(channel, in: &channels) }
                throw .memoryFull(limit: memory.limit)
            }
            state.lastOffset += 1
            state.publishedCount += 1
            state.lastActivity = now
            guard !state.loops.isEmpty else { return (message, state.subscriberCount, []) }
            // Handed to the loops' inboxes under the channel's lock, so that two publishers on different
            // threads cannot reach a loop in the opposite order of their positions (the later message would
            // hide the earlier one: subscribers skip positions they have passed). Encoding once per wire
            // format in use happens here too; waking the loops (a syscall) happens after the lock.
            return (message, state.subscriberCount, enqueueDelivery(of: message, in: state))
        }
        publishedCount.wrappingIncrement(ordering: .relaxed)
        for context in drainsToSchedule { context.scheduleDrain() }
        return PublishResult(message: message, subscribers: subscribers)
    }

    /// Hands `message` to the inbox of every loop with subscribers of the channel, encoded once per wire
    /// format in use; returns the loops to wake after the lock. Under the shard's lock.
    func enqueueDelivery(of message: Message, in state: ChannelState) -> [LoopContext] {
        guard !state.loops.isEmpty else { return [] }
        let delivery = Delivery(
            message: message,
            formatsInUse: state.formatCounts,
            encoders: encoders,
            allocator: allocator
        )
        return state.enqueue(.deliver(delivery))
    }

    /// Keeps `message` in `state`'s history when history is on: what it adds to the retained bytes, net of
    /// the oldest message it pushes out, must fit the budget; false (and nothing kept) when it does not.
    /// Under the shard's lock.
    func keep(_ message: Message, in state: ChannelState, now: Int64, source: MemoryBudget.Source) -> Bool {
        guard configuration.historySize > 0 else { return true }
        let evicted = state.history.bytesEvictedByAppend
        let added = message.retainedBytes - evicted
        guard memory.reserve(added, for: .history, by: source) else { return false }
        memory.release(state.history.append(message, now: now) - evicted - min(added, 0), for: .history)
        return true
    }

    /// `payload`, or a copy of it when it is a small part of a larger buffer (a slice of a read buffer):
    /// history (and an open transaction) must not pin someone else's bytes. What stays pinned is at most
    /// twice the payload and 512 bytes, close to what the memory budget charges for it.
    public static func detached(_ payload: ByteBuffer) -> ByteBuffer {
        guard payload.storageCapacity > 2 * payload.readableBytes + 512 else { return payload }
        var copy = ByteBufferAllocator().buffer(capacity: payload.readableBytes)
        copy.writeImmutableBuffer(payload)
        return copy
    }
}
