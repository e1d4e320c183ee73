import NIOCore
import NIOEmbedded
import Testing

@testable import SwitchboardCore

@Suite("Hub")
struct HubTests {
    let loop = EmbeddedEventLoop()
    let chat = ChannelName(unchecked: "chat")

    func makeHub(
        historySize: Int = 100,
        clock: ManualClock = ManualClock(),
        epochs: [String] = ["e1", "e2", "e3"]
    ) -> Hub {
        let counter = EpochCounter(epochs)
        return Hub(
            configuration: .init(historySize: historySize, historyTTLMilliseconds: 60_000),
            clock: { clock.now },
            makeEpoch: { counter.next() }
        )
    }

    @Test("a publish reaches every subscriber once, in order, with one flush per batch")
    func fanOut() {
        let hub = makeHub()
        let subscribers = (0..<3).map { _ in RecordingSubscriber() }
        for subscriber in subscribers { _ = hub.subscribe(subscriber, to: chat, from: nil, format: nil, on: loop) }
        hub.publish(request("one"), to: chat)
        hub.publish(request("two"), to: chat)
        loop.run()
        for subscriber in subscribers {
            #expect(subscriber.texts == ["one", "two"])
            #expect(subscriber.flushes == 1)  // Both messages were drained in one batch.
        }
        #expect(hub.statistics().delivered == 6)
        #expect(hub.statistics().published == 2)
    }

    @Test("positions are EPOCH:OFFSET, consecutive from 1")
    func positions() {
        let hub = makeHub()
        let first = hub.publish(request("a"), to: chat)
        let second = hub.publish(request("b"), to: chat)
        #expect(first.message.position == StreamPosition(epoch: "e1", offset: 1))
        #expect(second.message.position.description == "e1:2")
        #expect(first.subscribers == 0)
    }

    @Test("resume returns exactly the missed messages, then live ones, without duplicates")
    func resume() {
        let hub = makeHub()
        for text in ["a", "b", "c", "d"] { hub.publish(request(text), to: chat) }
        let subscriber = RecordingSubscriber()
        let (_, resume) = hub.subscribe(
            subscriber,
            to: chat,
            from: StreamPosition(epoch: "e1", offset: 2),
            format: nil,
            on: loop
        )
        #expect(resume.messages.map { String(buffer: $0.payload) } == ["c", "d"])
        #expect(resume.gap == nil)
        hub.publish(request("e"), to: chat)
        loop.run()
        #expect(subscriber.texts == ["e"])
    }

    @Test("a position older than history is reported as too-old, with what is left")
    func tooOld() {
        let hub = makeHub(historySize: 2)
        for text in ["a", "b", "c", "d"] { hub.publish(request(text), to: chat) }
        let (_, resume) = hub.subscribe(
            RecordingSubscriber(),
            to: chat,
            from: StreamPosition(epoch: "e1", offset: 1),
            format: nil,
            on: loop
        )
        #expect(resume.gap == .tooOld)
        #expect(resume.messages.map(\.position.offset) == [3, 4])
    }

    @Test("a position from another epoch is reported as new-epoch")
    func newEpoch() {
        let hub = makeHub()
        hub.publish(request("a"), to: chat)
        #expect(hub.deleteChannel(chat) == 0)
        hub.publish(request("b"), to: chat)
        let (_, resume) = hub.subscribe(
            RecordingSubscriber(),
            to: chat,
            from: StreamPosition(epoch: "e1", offset: 1),
            format: nil,
            on: loop
        )
        #expect(resume.gap == .newEpoch)
        #expect(resume.messages.map { String(buffer: $0.payload) } == ["b"])
    }

    @Test("deleting a channel tells its subscribers after the messages already queued")
    func delete() {
        let hub = makeHub()
        let subscriber = RecordingSubscriber()
        _ = hub.subscribe(subscriber, to: chat, from: nil, format: nil, on: loop)
        hub.publish(request("last"), to: chat)
        #expect(hub.deleteChannel(chat) == 1)
        loop.run()
        #expect(subscriber.texts == ["last"])
        #expect(subscriber.deleted == [chat])
        #expect(hub.info(chat) == nil)
        #expect(hub.deleteChannel(chat) == nil)
    }

    @Test("unsubscribing stops deliveries; an unused channel keeps its epoch until the retention time passes")
    func unsubscribe() {
        let clock = ManualClock()
        let hub = makeHub(historySize: 0, clock: clock)
        let subscriber = RecordingSubscriber()
        let (subscription, _) = hub.subscribe(subscriber, to: chat, from: nil, format: nil, on: loop)
        #expect(hub.info(chat)?.subscribers == 1)
        hub.unsubscribe(subscription, on: loop)
        hub.unsubscribe(subscription, on: loop)  // Idempotent.
        hub.publish(request("x"), to: chat)
        loop.run()
        #expect(subscriber.delivered.isEmpty)
        #expect(hub.statistics().subscribers == 0)
        // Still remembered: a poller coming back at e1:1 is not told of a gap.
        let (again, resume) = hub.subscribe(
            subscriber,
            to: chat,
            from: StreamPosition(epoch: "e1", offset: 1),
            format: nil,
            on: loop
        )
        #expect(resume.gap == nil)
        hub.unsubscribe(again, on: loop)
        clock.now += 299_000
        hub.sweep()
        #expect(hub.info(chat) != nil)
        clock.now += 1_000
        hub.sweep()
        #expect(hub.info(chat) == nil)
    }

    @Test("history expires by age")
    func expiry() {
        let clock = ManualClock()
        let hub = makeHub(clock: clock)
        hub.publish(request("old"), to: chat)
        clock.now += 30_000
        hub.publish(request("new"), to: chat)
        clock.now += 40_000
        #expect(hub.history(of: chat, since: nil, limit: 10)?.messages.map { String(buffer: $0.payload) } == ["new"])
        clock.now += 300_000
        hub.sweep()
        #expect(hub.info(chat) == nil)
    }

    @Test("history pages honour since and limit")
    func historyPage() {
        let hub = makeHub()
        for text in ["a", "b", "c", "d", "e"] { hub.publish(request(text), to: chat) }
        let page = hub.history(of: chat, since: StreamPosition(epoch: "e1", offset: 1), limit: 2)
        #expect(page?.messages.map(\.position.offset) == [2, 3])
        #expect(page?.lastPosition.offset == 5)
        #expect(page?.gap == nil)
    }

    @Test("each wire format in use is encoded once per message")
    func encodeOnce() {
        let counter = EncodeCounter()
        var registry = WireFormatRegistry()
        let format = registry.register(counter)
        let hub = Hub(formats: registry)
        let subscribers = (0..<5).map { _ in FormatSubscriber() }
        for subscriber in subscribers { _ = hub.subscribe(subscriber, to: chat, from: nil, format: format, on: loop) }
        hub.publish(request("x"), to: chat)
        loop.run()
        #expect(counter.count.withLockedValue { $0 } == 1)
        #expect(subscribers.allSatisfy { $0.bodies == ["<x>"] })
    }

    @Test("subscribers on different event loops each receive the message")
    func manyLoops() {
        let hub = makeHub()
        let other = EmbeddedEventLoop()
        let a = RecordingSubscriber()
        let b = RecordingSubscriber()
        _ = hub.subscribe(a, to: chat, from: nil, format: nil, on: loop)
        _ = hub.subscribe(b, to: chat, from: nil, format: nil, on: other)
        hub.publish(request("both"), to: chat)
        loop.run()
        other.run()
        #expect(a.texts == ["both"])
        #expect(b.texts == ["both"])
    }
}

final class EpochCounter: @unchecked Sendable {
    private var epochs: [String]
    init(_ epochs: [String]) { self.epochs = epochs }
    func next() -> String { epochs.isEmpty ? "x" : epochs.removeFirst() }
}
