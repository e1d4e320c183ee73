import Atomics
import NIOCore
import NIOEmbedded
import SwitchboardCore
import Testing

@testable import SwitchboardSTOMP

/// Records what a queue hands it.
final class RecordingSink: QueueSink {
    var received: [(tag: UInt64, body: String, redelivered: Bool)] = []

    func deliver(_ deliveries: [QueueDelivery], from consumer: QueueConsumer) {
        for delivery in deliveries {
            received.append((delivery.tag, String(buffer: delivery.message.payload), delivery.message.redelivered))
        }
    }

    var bodies: [String] { received.map(\.body) }
}

@Suite("STOMP queues")
struct QueueTests {
    let loop = EmbeddedEventLoop()

    func send(_ store: QueueStore, _ body: String, to queue: String = "q") -> Result<Void, QueueStore.SendError> {
        store.send(PublishRequest(payload: ByteBuffer(string: body)), to: queue, temporary: false)
    }

    func consumer(_ store: QueueStore, _ sink: RecordingSink, key: Int, prefetch: Int = 100) throws -> QueueConsumer {
        try store.consume("q", owner: nil, subscriptionKey: key, prefetch: prefetch, eventLoop: loop, sink: sink).get()
    }

    @Test("messages wait for a consumer, then go round-robin, each to exactly one")
    func roundRobin() throws {
        let store = QueueStore()
        for index in 1...2 { _ = send(store, "m\(index)") }
        let a = RecordingSink()
        let b = RecordingSink()
        let first = try consumer(store, a, key: 1)
        loop.run()
        #expect(a.bodies == ["m1", "m2"])
        let second = try consumer(store, b, key: 2)
        for index in 3...6 { _ = send(store, "m\(index)") }
        loop.run()
        #expect(a.bodies.count + b.bodies.count == 6)
        #expect(Set(a.bodies).isDisjoint(with: b.bodies))
        #expect(b.bodies == ["m3", "m5"] || b.bodies == ["m4", "m6"])
        _ = (first, second)
    }

    @Test("prefetch bounds unacknowledged deliveries; ACK makes room; cumulative ACK settles earlier ones")
    func prefetch() throws {
        let store = QueueStore()
        let sink = RecordingSink()
        let c = try consumer(store, sink, key: 1, prefetch: 2)
        for index in 1...5 { _ = send(store, "m\(index)") }
        loop.run()
        #expect(sink.bodies == ["m1", "m2"])
        #expect(c.queue.settle(c, tag: 2, accept: true, cumulative: true) == 2)
        loop.run()
        #expect(sink.bodies == ["m1", "m2", "m3", "m4"])
        #expect(c.queue.settle(c, tag: 4, accept: true, cumulative: false) == 1)
        loop.run()
        #expect(sink.bodies.last == "m5")
        #expect(c.queue.statistics.unacked == 2)
    }

    @Test("NACK and a consumer leaving put messages back first, flagged redelivered")
    func redelivery() throws {
        let store = QueueStore()
        let a = RecordingSink()
        let c = try consumer(store, a, key: 1, prefetch: 10)
        for index in 1...3 { _ = send(store, "m\(index)") }
        loop.run()
        c.queue.settle(c, tag: 2, accept: false, cumulative: false)
        loop.run()
        #expect(a.received.last.map { ($0.body, $0.redelivered) } ?? ("", false) == ("m2", true))
        c.queue.remove(c, now: 0)
        let b = RecordingSink()
        _ = try consumer(store, b, key: 2)
        loop.run()
        #expect(b.bodies == ["m1", "m3", "m2"])
        #expect(b.received.allSatisfy { $0.redelivered })
    }

    @Test("a full queue refuses the message; limits on length, bytes and queue count")
    func bounds() throws {
        let store = QueueStore(limits: .init(maxQueues: 2, queue: .init(maxLength: 2, maxBytes: 10)))
        #expect((try? send(store, "a").get()) != nil)
        #expect((try? send(store, "b").get()) != nil)
        guard case .failure(.full(.full)) = send(store, "c") else {
            Issue.record("expected a full queue")
            return
        }
        guard case .failure(.full(.full)) = send(store, "12345678901", to: "other") else {
            Issue.record("expected the byte limit")
            return
        }
        _ = send(store, "x", to: "third")
        guard case .failure(.tooManyQueues(limit: 2)) = send(store, "y", to: "fourth") else {
            Issue.record("expected too many queues")
            return
        }
    }

    @Test("temporary queues are not made by a SEND; replies to a departed owner are counted, not stored")
    func temporary() throws {
        let store = QueueStore()
        #expect(
            (try? store.send(PublishRequest(payload: ByteBuffer(string: "r")), to: "temp.s.x", temporary: true).get())
                != nil
        )
        #expect(store.droppedReplies.load(ordering: .relaxed) == 1)
        #expect(store.statistics().isEmpty)
        let sink = RecordingSink()
        _ = try store.consume("temp.s.x", owner: "s", subscriptionKey: 1, prefetch: 10, eventLoop: loop, sink: sink)
            .get()
        _ = store.send(PublishRequest(payload: ByteBuffer(string: "r2")), to: "temp.s.x", temporary: true)
        loop.run()
        #expect(sink.bodies == ["r2"])
        store.removeTemporaryQueues(of: "s")
        #expect(store.statistics().isEmpty)
    }
}
