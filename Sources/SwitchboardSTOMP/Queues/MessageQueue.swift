import DequeModule
import NIOCore
import SwitchboardCore
import Synchronization

/// A point-to-point queue: messages wait in order until a consumer has room; each goes to exactly one
/// consumer, round-robin. Unacknowledged deliveries return to the head of the queue, flagged redelivered,
/// when they are NACKed or their consumer leaves.
///
/// Everything is under one lock per queue; deliveries are handed to consumers' event loops after the
/// lock is released, one loop task per consumer and dispatch.
public final class MessageQueue: Sendable {
    /// The queue's limits.
    public struct Limits: Sendable {
        /// Most messages waiting.
        public var maxLength: Int
        /// Most body bytes waiting.
        public var maxBytes: Int

        public init(maxLength: Int = 10_000, maxBytes: Int = 16 << 20) {
            self.maxLength = maxLength
            self.maxBytes = maxBytes
        }
    }

    /// Why a message was not stored.
    public enum EnqueueError: Error, Sendable {
        case full(length: Int, bytes: Int)
        /// The server's memory budget (`limits.max_memory`) is spent.
        case memoryFull(limit: Int)
        /// The queue was removed (idle, or its temporary owner left) while the message was on its way.
        case removed
    }

    struct State {
        var waiting: Deque<QueuedMessage> = []
        var waitingBytes = 0
        var consumers: [QueueConsumer] = []
        var nextConsumer = 0
        var nextSequence: UInt64 = 1
        var isRemoved = false
        /// When the queue last became empty with no consumers (milliseconds), for the idle sweep.
        var idleSince: Int64?
    }

    /// The queue's name (the part after `/queue/`).
    public let name: String
    /// The session that owns a temporary queue.
    public let owner: String?
    let limits: Limits
    let state: Mutex<State>
    /// Held messages (waiting or unacknowledged) count against it.
    let memory: MemoryBudget

    init(name: String, owner: String?, limits: Limits, memory: MemoryBudget, now: Int64) {
        self.name = name
        self.owner = owner
        self.limits = limits
        self.memory = memory
        var initial = State()
        initial.idleSince = now
        self.state = Mutex(initial)
    }

    // MARK: Producers

    /// Stores a message, or says why it can't be stored.
    func enqueue(_ request: PublishRequest) -> Result<Void, EnqueueError> {
        let dispatch = state.withLock { state -> Result<[Handoff], EnqueueError> in
            guard !state.isRemoved else { return .failure(.removed) }
            let size = request.payload.readableBytes
            guard state.waiting.count < limits.maxLength, state.waitingBytes + size <= limits.maxBytes else {
                return .failure(.full(length: limits.maxLength, bytes: limits.maxBytes))
            }
            let message = QueuedMessage(
                sequence: state.nextSequence,
                payload: request.payload,
                contentType: request.contentType,
                headers: request.headers
            )
            guard memory.reserve(message.retainedBytes, for: .queues, by: request.source) else {
                return .failure(.memoryFull(limit: memory.limit))
            }
            state.waiting.append(message)
            state.nextSequence += 1
            state.waitingBytes += size
            state.idleSince = nil
            return .success(Self.dispatch(&state))
        }
        switch dispatch {
        case .success(let handoffs):
            Self.hand(handoffs)
            return .success(())
        case .failure(let error):
            return .failure(error)
        }
    }

    // MARK: Consumers

    /// Adds a consumer; it starts receiving at once. False if the queue was removed meanwhile.
    func add(_ consumer: QueueConsumer) -> Bool {
        let handoffs = state.withLock { state -> [Handoff]? in
            guard !state.isRemoved else { return nil }
            state.consumers.append(consumer)
            state.idleSince = nil
            return Self.dispatch(&state)
        }
        guard let handoffs else { return false }
        Self.hand(handoffs)
        return true
    }

    /// Removes a consumer; what it had not acknowledged goes back to the head of the queue.
    func remove(_ consumer: QueueConsumer, now: Int64) {
        let handoffs = state.withLock { state -> [Handoff] in
            guard consumer.isActive else { return [] }
            consumer.isActive = false
            state.consumers.removeAll { $0 === consumer }
            requeue(Array(consumer.unacked), into: &state)
            consumer.unacked.removeAll()
            consumer.outbox.removeAll()
            consumer.outboxBytes = 0
            if state.consumers.isEmpty && state.waiting.isEmpty { state.idleSince = now }
            return Self.dispatch(&state)
        }
        Self.hand(handoffs)
    }

    /// Acknowledges (`accept`) or rejects deliveries of `consumer`: `tag`, and with `cumulative` every
    /// earlier one. Rejected messages go back to the head of the queue. Unknown tags are ignored (already
    /// settled). Returns how many deliveries were settled.
    @discardableResult
    func settle(_ consumer: QueueConsumer, tag: UInt64, accept: Bool, cumulative: Bool) -> Int {
        let (settled, handoffs) = state.withLock { state -> (Int, [Handoff]) in
            guard consumer.isActive else { return (0, []) }
            var taken: [QueueDelivery] = []
            if cumulative {
                while let first = consumer.unacked.first, first.tag <= tag {
                    taken.append(consumer.unacked.removeFirst())
                }
            } else if let index = consumer.unacked.firstIndex(where: { $0.tag == tag }) {
                taken.append(consumer.unacked.remove(at: index))
            }
            if accept {
                for delivery in taken { memory.release(delivery.message.retainedBytes, for: .queues) }
            } else {
                requeue(taken, into: &state)
            }
            return (taken.count, taken.isEmpty ? [] : Self.dispatch(&state))
        }
        Self.hand(handoffs)
        return settled
    }

    /// Marks whether `consumer` can take more (its connection's outbound buffer has room).
    func setReady(_ consumer: QueueConsumer, _ ready: Bool) {
        let handoffs = state.withLock { state -> [Handoff] in
            guard consumer.isReady != ready else { return [] }
            consumer.isReady = ready
            return ready ? Self.dispatch(&state) : []
        }
        Self.hand(handoffs)
    }

    /// Removes the queue if it has been empty, without consumers, since before `cutoff`; or, with `force`
    /// (a temporary queue whose owner left), whatever it holds. Returns whether it was removed.
    func removeIfIdle(before cutoff: Int64, force: Bool = false) -> Bool {
        state.withLock { state in
            guard force || (state.consumers.isEmpty && state.waiting.isEmpty && (state.idleSince ?? .max) < cutoff)
            else { return false }
            state.isRemoved = true
            for message in state.waiting { memory.release(message.retainedBytes, for: .queues) }
            state.waiting.removeAll()
            state.waitingBytes = 0
            return true
        }
    }

    /// Numbers for `/stats` and `/api/queues`.
    public struct Statistics: Sendable {
        public var name: String
        public var messages: Int
        public var bytes: Int
        public var unacked: Int
        public var consumers: Int
    }

    /// The queue's current numbers.
    public var statistics: Statistics {
        state.withLock { state in
            Statistics(
                name: name,
                messages: state.waiting.count,
                bytes: state.waitingBytes,
                unacked: state.consumers.reduce(0) { $0 + $1.unacked.count },
                consumers: state.consumers.count
            )
        }
    }

    // MARK: Dispatch (under the lock)

    /// Consumers that got deliveries in their outbox and need a loop task to hand them over.
    typealias Handoff = QueueConsumer

    /// Puts unacknowledged deliveries back at the head of the queue; a removed queue lets them go.
    private func requeue(_ deliveries: [QueueDelivery], into state: inout State) {
        guard !state.isRemoved else {
            for delivery in deliveries { memory.release(delivery.message.retainedBytes, for: .queues) }
            return
        }
        for delivery in deliveries.reversed() {
            var message = delivery.message
            message.redelivered = true
            state.waitingBytes += message.size
            state.waiting.prepend(message)
        }
    }

    /// Moves waiting messages to consumers with room, round-robin, into their outboxes; returns the
    /// consumers whose outbox needs a loop task.
    private static func dispatch(_ state: inout State) -> [Handoff] {
        guard !state.waiting.isEmpty, !state.consumers.isEmpty else { return [] }
        var handoffs: [Handoff] = []
        let count = state.consumers.count
        var idleTurns = 0
        while !state.waiting.isEmpty && idleTurns < count {
            let consumer = state.consumers[state.nextConsumer % count]
            state.nextConsumer = (state.nextConsumer + 1) % count
            guard consumer.hasRoom else {
                idleTurns += 1
                continue
            }
            idleTurns = 0
            let message = state.waiting.removeFirst()
            state.waitingBytes -= message.size
            let delivery = QueueDelivery(tag: consumer.nextTag, message: message)
            consumer.nextTag += 1
            consumer.unacked.append(delivery)
            consumer.outbox.append(delivery)
            consumer.outboxBytes += message.size
            if !consumer.handoffScheduled {
                consumer.handoffScheduled = true
                handoffs.append(consumer)
            }
        }
        return handoffs
    }

    /// Takes what `consumer`'s outbox holds (on the consumer's loop).
    private func takeOutbox(of consumer: QueueConsumer) -> [QueueDelivery] {
        state.withLock { _ in
            consumer.handoffScheduled = false
            let deliveries = consumer.outbox
            consumer.outbox = []
            consumer.outboxBytes = 0
            return deliveries
        }
    }

    /// Schedules a loop task per consumer to hand over its outbox (outside the lock). Always a new loop
    /// task, even from the consumer's own loop: the caller may be that consumer in the middle of a delivery
    /// (an auto-ack settling what it wrote), and the next batch must not run inside it.
    private static func hand(_ handoffs: [Handoff]) {
        for consumer in handoffs {
            consumer.eventLoop.execute {
                let deliveries = consumer.queue.takeOutbox(of: consumer)
                guard !deliveries.isEmpty else { return }
                consumer.sink?.deliver(deliveries, from: consumer)
            }
        }
    }
}
