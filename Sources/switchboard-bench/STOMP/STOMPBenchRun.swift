import DequeModule
import Histogram
import NIOCore

/// The state of a STOMP benchmark: its connections, what producers sent and consumers received in the
/// current step. Confined to the benchmark's one event loop.
final class STOMPBenchRun: @unchecked Sendable {
    // @unchecked: only touched on `eventLoop`.

    enum Scenario: String, CaseIterable {
        /// Producers SEND to one topic; every consumer subscribes to it.
        case topic
        /// Producers SEND to one queue; consumers take turns (auto ack).
        case queue
        /// As `queue`, with a receipt on every SEND and a client-individual ACK of every MESSAGE.
        case queueAck = "queue-ack"
    }

    struct Settings {
        var scenario: Scenario
        var destination: String
        var producers: Int
        var consumers: Int
        var size: Int
        var login: String?
        var passcode: String?
        var vhost: String
        var prefetch: Int
    }

    /// What one step measured.
    struct StepNumbers {
        var sent = 0
        var unique = 0
        var duplicates = 0
        var unexpected = 0
        var receipts = 0
        var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 600_000_000,
            numberOfSignificantValueDigits: .three
        )
        var receiptLatency = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 600_000_000,
            numberOfSignificantValueDigits: .three
        )
    }

    let settings: Settings
    let eventLoop: any EventLoop
    let allocator = ByteBufferAllocator()
    private(set) var producers: [STOMPBenchConnection] = []
    private(set) var consumers: [STOMPBenchConnection] = []
    private var ready: EventLoopPromise<Void>
    private var connectedCount = 0
    private var subscribedCount = 0
    private(set) var errors: [String] = []

    private(set) var numbers = StepNumbers()
    /// Per consumer, per producer: the last sequence number received (order is guaranteed per producer).
    private var lastSequence: [[Int]]
    /// Per producer: sequence numbers sent and not yet receipted, with their send times.
    private var unreceipted: [Deque<UInt64>]
    private var nextSequence: [Int]

    init(settings: Settings, eventLoop: any EventLoop) {
        self.settings = settings
        self.eventLoop = eventLoop
        self.ready = eventLoop.makePromise()
        self.lastSequence = Array(repeating: Array(repeating: -1, count: settings.producers), count: settings.consumers)
        self.unreceipted = Array(repeating: [], count: settings.producers)
        self.nextSequence = Array(repeating: 0, count: settings.producers)
    }

    func makeConnection(_ role: STOMPBenchConnection.Role) -> STOMPBenchConnection {
        let connection = STOMPBenchConnection(role: role, run: self)
        switch role {
        case .producer: producers.append(connection)
        case .consumer: consumers.append(connection)
        }
        return connection
    }

    /// Succeeds when every connection is connected and every consumer subscribed.
    var readyFuture: EventLoopFuture<Void> { ready.futureResult }

    // MARK: Connection events

    func connectionActive(_ connection: STOMPBenchConnection) {
        var headers = [("accept-version", "1.2"), ("host", settings.vhost), ("heart-beat", "0,0")]
        if let login = settings.login { headers.append(("login", login)) }
        if let passcode = settings.passcode { headers.append(("passcode", passcode)) }
        connection.write(STOMPBenchConnection.frame("CONNECT", headers, allocator: allocator))
        connection.flush()
    }

    /// Set when the benchmark is over: connections closing then are expected.
    var isFinished = false
    private var isReady = false

    func connectionClosed(_ connection: STOMPBenchConnection) {
        guard !isFinished else { return }
        failed("a connection closed")
    }

    func failed(_ reason: String) {
        errors.append(reason)
        if !isReady {
            isReady = true
            ready.fail(BenchError(reason))
        }
    }

    func frameReceived(_ frame: STOMPServerFrame, on connection: STOMPBenchConnection, now: UInt64) {
        switch frame.command {
        case .message:
            guard case .consumer(let index) = connection.role else { return }
            messageReceived(frame, consumer: index, connection: connection, now: now)
        case .receipt:
            receiptReceived(frame.receiptID ?? "", connection: connection, now: now)
        case .connected:
            connected(connection)
        case .error:
            failed("ERROR from the server: \(frame.errorMessage ?? "?") \(String(buffer: frame.body))")
        case .other:
            break
        }
    }

    private func connected(_ connection: STOMPBenchConnection) {
        connectedCount += 1
        if case .consumer(let index) = connection.role {
            var headers = [("id", "sub-\(index)"), ("destination", settings.destination), ("receipt", "subscribed")]
            if settings.scenario == .queueAck {
                headers.append(("ack", "client-individual"))
                headers.append(("prefetch-count", String(settings.prefetch)))
            }
            connection.write(STOMPBenchConnection.frame("SUBSCRIBE", headers, allocator: allocator))
            connection.flush()
        }
        checkReady()
    }

    private func checkReady() {
        if !isReady && connectedCount == producers.count + consumers.count && subscribedCount == consumers.count {
            isReady = true
            ready.succeed(())
        }
    }

    private func messageReceived(
        _ frame: STOMPServerFrame,
        consumer: Int,
        connection: STOMPBenchConnection,
        now: UInt64
    ) {
        if settings.scenario == .queueAck, let ack = frame.ack {
            connection.write(STOMPBenchConnection.frame("ACK", [("id", ack)], allocator: allocator))
        }
        guard let (sequence, producer, sent) = Payload.parse(frame.body.readableBytesView),
            producer < settings.producers
        else {
            numbers.unexpected += 1
            return
        }
        // Queues spread one producer's messages over consumers, so order is only checked per consumer.
        guard sequence > lastSequence[consumer][producer] else {
            numbers.duplicates += 1
            return
        }
        lastSequence[consumer][producer] = sequence
        numbers.unique += 1
        _ = numbers.latency.record(now > sent ? (now - sent) / 1000 : 0)
    }

    private func receiptReceived(_ id: String, connection: STOMPBenchConnection, now: UInt64) {
        if id == "subscribed" {
            subscribedCount += 1
            checkReady()
            return
        }
        guard case .producer(let index) = connection.role, let sent = unreceipted[index].popFirst() else { return }
        numbers.receipts += 1
        _ = numbers.receiptLatency.record(now > sent ? (now - sent) / 1000 : 0)
    }

    // MARK: Producing

    /// Messages each producer sent in the current step.
    private var sentInStep: [Int] = []

    /// Starts a new step's counters.
    func resetNumbers() {
        numbers = StepNumbers()
        sentInStep = Array(repeating: 0, count: producers.count)
    }

    /// Sends what each producer owes `elapsed` seconds into the step at `perProducer` messages/s (at most
    /// 2,000 at once); at rate 0, 256 more to each producer whose socket takes them.
    func sendDue(perProducer: Double, elapsed: Double) {
        for index in producers.indices {
            let due: Int
            if perProducer > 0 {
                due = min(2000, Int(perProducer * elapsed) - sentInStep[index])
            } else {
                due = producerIsWritable(index) ? 256 : 0
            }
            guard due > 0 else { continue }
            send(due, from: index)
            sentInStep[index] += due
        }
    }

    /// Sends `count` messages from producer `index` (and flushes).
    func send(_ count: Int, from index: Int) {
        let connection = producers[index]
        for _ in 0..<count {
            let sequence = nextSequence[index]
            nextSequence[index] += 1
            let now = Clock.nanos()
            let payload = Payload.make(
                sequence: sequence,
                channel: index,
                sentNanos: now,
                size: settings.size,
                allocator: allocator
            )
            var headers = [("destination", settings.destination)]
            if settings.scenario == .queueAck {
                headers.append(("receipt", String(sequence)))
                unreceipted[index].append(now)
            }
            connection.write(STOMPBenchConnection.frame("SEND", headers, body: payload, allocator: allocator))
            numbers.sent += 1
        }
        connection.flush()
    }

    /// Whether producer `index` can take more writes now (for the as-fast-as-possible rate).
    func producerIsWritable(_ index: Int) -> Bool {
        producers[index].context?.channel.isWritable ?? false
    }

    /// Deliveries the current step should end with.
    var expectedDeliveries: Int {
        settings.scenario == .topic ? numbers.sent * settings.consumers : numbers.sent
    }
}

struct BenchError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
