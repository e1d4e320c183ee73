import DequeModule
import NIOCore

/// Where a queue hands its deliveries: a connection, on its own event loop.
public protocol QueueSink: AnyObject {
    /// Deliveries for `consumer`, in order. Called on the consumer's event loop.
    func deliver(_ deliveries: [QueueDelivery], from consumer: QueueConsumer)
}

/// One subscription consuming a queue. The queue's lock guards the bookkeeping; the sink is only touched
/// on `eventLoop`.
public final class QueueConsumer: @unchecked Sendable {
    // @unchecked: `unacked`, `outbox`, `handoffScheduled`, `nextTag`, `isActive`, `isReady` are only used
    // under the owning queue's lock;
    // `sink` only on `eventLoop`.

    /// The queue consumed.
    public let queue: MessageQueue
    /// The session's key of the subscription (for ack ids).
    public let subscriptionKey: Int
    /// Unacknowledged deliveries allowed at once.
    public let prefetch: Int
    /// Most body bytes handed over in one batch (the connection's output budget): a batch is written at
    /// once, so it must not make the connection hold more than it may.
    let maxBatchBytes: Int
    let eventLoop: any EventLoop
    weak var sink: (any QueueSink)?

    var unacked: Deque<QueueDelivery> = []
    /// Deliveries decided but not yet handed to the sink, and whether a loop task will hand them over:
    /// many SENDs read at once become one loop task per consumer, not one per message.
    var outbox: [QueueDelivery] = []
    var outboxBytes = 0
    var handoffScheduled = false
    var nextTag: UInt64 = 1
    var isActive = true
    /// False while the connection's outbound buffer is full: nothing more is dispatched to it.
    var isReady = true

    init(
        queue: MessageQueue,
        subscriptionKey: Int,
        prefetch: Int,
        maxBatchBytes: Int = .max,
        eventLoop: any EventLoop,
        sink: any QueueSink
    ) {
        self.queue = queue
        self.subscriptionKey = subscriptionKey
        self.prefetch = prefetch
        self.maxBatchBytes = maxBatchBytes
        self.eventLoop = eventLoop
        self.sink = sink
    }

    /// Whether another message may be dispatched to it now (one always fits in an empty batch).
    var hasRoom: Bool {
        isActive && isReady && unacked.count < prefetch && (outbox.isEmpty || outboxBytes < maxBatchBytes)
    }
}
