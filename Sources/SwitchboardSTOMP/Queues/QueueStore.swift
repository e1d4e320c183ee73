public import Atomics
import NIOCore
public import SwitchboardCore
import Synchronization

/// Every queue of the broker, by name. Queues are made on first use and forgotten when they have been
/// empty and unconsumed for a while (``sweep(now:)``); temporary queues end with their connection.
public final class QueueStore: Sendable {
    /// The store's limits.
    public struct Limits: Sendable {
        /// Most queues at once.
        public var maxQueues: Int
        /// Each queue's limits.
        public var queue: MessageQueue.Limits
        /// How long an empty queue without consumers is kept, in milliseconds.
        public var idleRetentionMilliseconds: Int64

        public init(
            maxQueues: Int = 10_000,
            queue: MessageQueue.Limits = .init(),
            idleRetentionMilliseconds: Int64 = 60_000
        ) {
            self.maxQueues = maxQueues
            self.queue = queue
            self.idleRetentionMilliseconds = idleRetentionMilliseconds
        }
    }

    /// Why a SEND to a queue was not stored.
    public enum SendError: Error, Sendable {
        case full(MessageQueue.EnqueueError)
        case tooManyQueues(limit: Int)
        /// A temporary queue that no longer exists (its connection left): the reply has nobody to go to.
        case noSuchTemporaryQueue
    }

    let limits: Limits
    private let queues = Mutex<[String: MessageQueue]>([:])
    private let clock: @Sendable () -> Int64
    /// The server's budget for retained bytes, which held messages count against.
    let memory: MemoryBudget
    /// Replies sent to temporary queues whose connection had left (dropped: nobody can receive them).
    public let droppedReplies = ManagedAtomic<Int>(0)

    public init(
        limits: Limits = .init(),
        memory: MemoryBudget = MemoryBudget(limit: 0),
        clock: @escaping @Sendable () -> Int64 = WallClock.milliseconds
    ) {
        self.limits = limits
        self.memory = memory
        self.clock = clock
    }

    /// The queue called `name`, made if missing (unless there are too many).
    func queue(named name: String, owner: String? = nil) -> Result<MessageQueue, SendError> {
        let now = clock()
        return queues.withLock { queues in
            if let queue = queues[name] { return .success(queue) }
            guard queues.count < limits.maxQueues else { return .failure(.tooManyQueues(limit: limits.maxQueues)) }
            let queue = MessageQueue(name: name, owner: owner, limits: limits.queue, memory: memory, now: now)
            queues[name] = queue
            return .success(queue)
        }
    }

    /// Stores a message in queue `name`. `temporary` queues are never made by a SEND: a reply to a
    /// connection that has left is dropped and counted.
    public func send(_ request: PublishRequest, to name: String, temporary: Bool) -> Result<Void, SendError> {
        // A queue swept away between lookup and enqueue is looked up (made) again.
        for _ in 0..<3 {
            let queue: MessageQueue
            if temporary {
                guard let existing = queues.withLock({ $0[name] }) else {
                    droppedReplies.wrappingIncrement(ordering: .relaxed)
                    return .success(())
                }
                queue = existing
            } else {
                switch self.queue(named: name) {
                case .success(let found): queue = found
                case .failure(let error): return .failure(error)
                }
            }
            switch queue.enqueue(request) {
            case .success: return .success(())
            case .failure(.removed): continue
            case .failure(let error): return .failure(.full(error))
            }
        }
        return .failure(.full(.removed))
    }

    /// Makes a consumer of queue `name` for a subscription and starts it.
    func consume(
        _ name: String,
        owner: String?,
        subscriptionKey: Int,
        prefetch: Int,
        maxBatchBytes: Int = .max,
        eventLoop: any EventLoop,
        sink: any QueueSink
    ) -> Result<QueueConsumer, SendError> {
        for _ in 0..<3 {
            let queue: MessageQueue
            switch self.queue(named: name, owner: owner) {
            case .success(let found): queue = found
            case .failure(let error): return .failure(error)
            }
            let consumer = QueueConsumer(
                queue: queue,
                subscriptionKey: subscriptionKey,
                prefetch: prefetch,
                maxBatchBytes: maxBatchBytes,
                eventLoop: eventLoop,
                sink: sink
            )
            if queue.add(consumer) { return .success(consumer) }
        }
        return .failure(.full(.removed))
    }

    /// Ends the temporary queues of `session`: their messages are dropped with them.
    func removeTemporaryQueues(of session: String) {
        queues.withLock { queues in
            for (name, queue) in queues where queue.owner == session {
                _ = queue.removeIfIdle(before: 0, force: true)
                queues[name] = nil
            }
        }
    }

    /// Forgets queues that have been empty and unconsumed for the retention time.
    public func sweep() {
        let cutoff = clock() - limits.idleRetentionMilliseconds
        queues.withLock { queues in
            for (name, queue) in queues where queue.removeIfIdle(before: cutoff) {
                queues[name] = nil
            }
        }
    }

    /// Every queue's numbers, by name.
    public func statistics() -> [MessageQueue.Statistics] {
        let all = queues.withLock { Array($0.values) }
        return all.map(\.statistics).sorted { $0.name < $1.name }
    }
}
