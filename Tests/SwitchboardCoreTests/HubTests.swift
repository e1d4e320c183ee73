import NIOConcurrencyHelpers
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
    func fanOut() throws {
        let hub = makeHub()
        let subscribers = (0..<3).map { _ in RecordingSubscriber() }
        for subscriber in subscribers { _ = try hub.subscribe(subscriber, to: chat, from: nil, format: nil, on: loop) }
        try hub.publish(request("one"), to: chat)
        try hub.publish(request("two"), to: chat)
        loop.run()
        for subscriber in subscribers {
            #expect(subscriber.texts == ["one", "two"])
            #expect(subscriber.flushes == 1)  // Both messages were drained in one batch.
        }
        #expect(hub.statistics().delivered == 6)
        #expect(hub.statistics().published == 2)
    }

    @Test("positions are EPOCH:OFFSET, consecutive from 1")
    func positions() throws {
        let hub = makeHub()
        let first = try hub.publish(request("a"), to: chat)
        let second = try hub.publish(request("b"), to: chat)
        #expect(first.message.position == StreamPosition(epoch: "e1", offset: 1))
        #expect(second.message.position.description == "e1:2")
        #expect(first.subscribers == 0)
    }

    @Test("resume returns exactly the missed messages, then live ones, without duplicates")
    func resume() throws {
        let hub = makeHub()
        for text in ["a", "b", "c", "d"] { try hub.publish(request(text), to: chat) }
        let subscriber = RecordingSubscriber()
        let (_, resume) = try hub.subscribe(
            subscriber,
            to: chat,
            from: StreamPosition(epoch: "e1", offset: 2),
            format: nil,
            on: loop
        )
        #expect(resume.messages.map { String(buffer: $0.payload) } == ["c", "d"])
        #expect(resume.gap == nil)
        try hub.publish(request("e"), to: chat)
        loop.run()
        #expect(subscriber.texts == ["e"])
    }

    @Test("a position older than history is reported as too-old, with what is left")
    func tooOld() throws {
        let hub = makeHub(historySize: 2)
        for text in ["a", "b", "c", "d"] { try hub.publish(request(text), to: chat) }
        let (_, resume) = try hub.subscribe(
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
    func newEpoch() throws {
        let hub = makeHub()
        try hub.publish(request("a"), to: chat)
        #expect(hub.deleteChannel(chat) == 0)
        try hub.publish(request("b"), to: chat)
        let (_, resume) = try hub.subscribe(
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
    func delete() throws {
        let hub = makeHub()
        let subscriber = RecordingSubscriber()
        _ = try hub.subscribe(subscriber, to: chat, from: nil, format: nil, on: loop)
        try hub.publish(request("last"), to: chat)
        #expect(hub.deleteChannel(chat) == 1)
        loop.run()
        #expect(subscriber.texts == ["last"])
        #expect(subscriber.deleted == [chat])
        #expect(hub.info(chat) == nil)
        #expect(hub.deleteChannel(chat) == nil)
    }

    @Test("unsubscribing stops deliveries; an unused channel keeps its epoch until the retention time passes")
    func unsubscribe() throws {
        let clock = ManualClock()
        let hub = makeHub(historySize: 0, clock: clock)
        let subscriber = RecordingSubscriber()
        let (subscription, _) = try hub.subscribe(subscriber, to: chat, from: nil, format: nil, on: loop)
        #expect(hub.info(chat)?.subscribers == 1)
        hub.unsubscribe(subscription, on: loop)
        hub.unsubscribe(subscription, on: loop)  // Idempotent.
        try hub.publish(request("x"), to: chat)
        loop.run()
        #expect(subscriber.delivered.isEmpty)
        #expect(hub.statistics().subscribers == 0)
        // Still remembered: a poller coming back at e1:1 is not told of a gap.
        let (again, resume) = try hub.subscribe(
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
    func expiry() throws {
        let clock = ManualClock()
        let hub = makeHub(clock: clock)
        try hub.publish(request("old"), to: chat)
        clock.now += 30_000
        try hub.publish(request("new"), to: chat)
        clock.now += 40_000
        #expect(hub.history(of: chat, since: nil, limit: 10)?.messages.map { String(buffer: $0.payload) } == ["new"])
        clock.now += 300_000
        hub.sweep()
        #expect(hub.info(chat) == nil)
    }

    @Test("history pages honour since and limit")
    func historyPage() throws {
        let hub = makeHub()
        for text in ["a", "b", "c", "d", "e"] { try hub.publish(request(text), to: chat) }
        let page = hub.history(of: chat, since: StreamPosition(epoch: "e1", offset: 1), limit: 2)
        #expect(page?.messages.map(\.position.offset) == [2, 3])
        #expect(page?.lastPosition.offset == 5)
        #expect(page?.gap == nil)
    }

    @Test("each wire format in use is encoded once per message")
    func encodeOnce() throws {
        let counter = EncodeCounter()
        var registry = WireFormatRegistry()
        let format = registry.register(counter)
        let hub = Hub(formats: registry)
        let subscribers = (0..<5).map { _ in FormatSubscriber() }
        for subscriber in subscribers {
            _ = try hub.subscribe(subscriber, to: chat, from: nil, format: format, on: loop)
        }
        try hub.publish(request("x"), to: chat)
        loop.run()
        #expect(counter.count.withLockedValue { $0 } == 1)
        #expect(subscribers.allSatisfy { $0.bodies == ["<x>"] })
    }

    @Test("subscribers on different event loops each receive the message")
    func manyLoops() throws {
        let hub = makeHub()
        let other = EmbeddedEventLoop()
        let a = RecordingSubscriber()
        let b = RecordingSubscriber()
        _ = try hub.subscribe(a, to: chat, from: nil, format: nil, on: loop)
        _ = try hub.subscribe(b, to: chat, from: nil, format: nil, on: other)
        try hub.publish(request("both"), to: chat)
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

@Suite("Hub limits")
struct HubLimitTests {
    let loop = EmbeddedEventLoop()

    func payload(_ bytes: Int) -> PublishRequest {
        PublishRequest(payload: ByteBuffer(repeating: 0x61, count: bytes))
    }

    @Test("history's bytes count against the memory budget; a publish over it is refused, nothing stored")
    func memoryBudget() throws {
        let budget = MemoryBudget(limit: 10_000)
        let hub = Hub(configuration: .init(historySize: 3), memory: budget)
        let channel = ChannelName(unchecked: "a")
        try hub.publish(payload(1000), to: channel)
        let one = budget.used(by: .history)
        #expect(one > 1000 && one < 1400)
        try hub.publish(payload(1000), to: channel)
        try hub.publish(payload(1000), to: channel)
        #expect(budget.used == 3 * one)
        // History is full: the next message pushes the oldest out, so the total stays.
        try hub.publish(payload(1000), to: channel)
        #expect(budget.used == 3 * one)
        #expect(throws: HubRefusal.memoryFull(limit: 10_000)) {
            try hub.publish(payload(9000), to: ChannelName(unchecked: "b"))
        }
        #expect(hub.info(ChannelName(unchecked: "b")) == nil)  // not left behind, empty
        #expect(budget.refusedCount == 1)
        _ = hub.deleteChannel(channel)
        #expect(budget.used == 0)
    }

    @Test("clients may fill nine tenths of the memory budget; the back end the rest")
    func clientShare() throws {
        let budget = MemoryBudget(limit: 10_000)
        #expect(budget.clientLimit == 9_000)
        let hub = Hub(configuration: .init(historySize: 100), memory: budget)
        var fromClient = payload(2000)
        fromClient.source = .client
        for _ in 0..<4 { try hub.publish(fromClient, to: ChannelName(unchecked: "crowd")) }
        #expect(throws: HubRefusal.memoryFull(limit: 10_000)) {
            try hub.publish(fromClient, to: ChannelName(unchecked: "crowd"))
        }
        try hub.publish(payload(1000), to: ChannelName(unchecked: "app"))  // the back end still fits
        #expect(budget.used > budget.clientLimit)
        #expect(MemoryBudget.Source(.anonymous) == .client && MemoryBudget.Source(.backend) == .backend)
        #expect(MemoryBudget.Source(.account(.none)) == .backend)
    }

    @Test("a publish that pushes an old message out needs only the difference")
    func rollingWindow() throws {
        let one = MemoryBudget.cost(payload: 1000, contentType: nil, eventType: nil, headers: [])
        let budget = MemoryBudget(limit: 2 * one)
        let hub = Hub(configuration: .init(historySize: 2), memory: budget)
        let channel = ChannelName(unchecked: "a")
        for _ in 0..<10 { try hub.publish(payload(1000), to: channel) }
        #expect(budget.used == 2 * one)
        #expect(hub.info(channel)?.messages == 2)
    }

    @Test("expired history gives its bytes back")
    func expiryReleases() throws {
        let clock = ManualClock()
        let budget = MemoryBudget(limit: 0)
        let hub = Hub(
            configuration: .init(historySize: 10, historyTTLMilliseconds: 1000),
            memory: budget,
            clock: { clock.now }
        )
        try hub.publish(payload(100), to: ChannelName(unchecked: "a"))
        #expect(budget.used > 0)
        clock.now += 2000
        hub.sweep()
        #expect(budget.used == 0)
    }

    @Test("no more than limits.max_channels channels; deleting one makes room")
    func channelLimit() throws {
        let hub = Hub(configuration: .init(maxChannels: 2))
        try hub.publish(payload(1), to: ChannelName(unchecked: "a"))
        let subscriber = RecordingSubscriber()
        _ = try hub.subscribe(subscriber, to: ChannelName(unchecked: "b"), from: nil, format: nil, on: loop)
        #expect(throws: HubRefusal.tooManyChannels(limit: 2)) {
            try hub.publish(payload(1), to: ChannelName(unchecked: "c"))
        }
        #expect(throws: HubRefusal.tooManyChannels(limit: 2)) {
            _ = try hub.subscribe(subscriber, to: ChannelName(unchecked: "c"), from: nil, format: nil, on: loop)
        }
        try hub.publish(payload(1), to: ChannelName(unchecked: "a"))  // existing channels still take messages
        _ = hub.deleteChannel(ChannelName(unchecked: "a"))
        try hub.publish(payload(1), to: ChannelName(unchecked: "c"))
    }

    @Test("at limits.max_channels, a channel that holds nothing makes room for a new one")
    func channelLimitEvictsUnused() throws {
        let hub = Hub(configuration: .init(maxChannels: 3))
        try hub.publish(payload(1), to: ChannelName(unchecked: "kept"))  // has history
        let subscriber = RecordingSubscriber()
        let (held, _) = try hub.subscribe(
            subscriber,
            to: ChannelName(unchecked: "held"),
            from: nil,
            format: nil,
            on: loop
        )
        // A client subscribes to made-up names and leaves: the channels are empty, kept for their epoch.
        for name in ["x1", "x2", "x3", "x4"] {
            let (left, _) = try hub.subscribe(
                subscriber,
                to: ChannelName(unchecked: name),
                from: nil,
                format: nil,
                on: loop
            )
            hub.unsubscribe(left, on: loop)
        }
        #expect(hub.statistics().channels == 3)
        try hub.publish(payload(1), to: ChannelName(unchecked: "new"))  // takes the place of x4, not refused
        #expect(hub.info(ChannelName(unchecked: "kept")) != nil)
        #expect(hub.info(ChannelName(unchecked: "held")) != nil)
        #expect(hub.info(ChannelName(unchecked: "x4")) == nil)
        // Nothing holds nothing any more: the next one is refused.
        #expect(throws: HubRefusal.tooManyChannels(limit: 3)) {
            try hub.publish(payload(1), to: ChannelName(unchecked: "more"))
        }
        hub.unsubscribe(held, on: loop)
    }

    @Test("a resume or a history page is cut to a byte limit, and says so")
    func replyLimits() throws {
        let hub = Hub(configuration: .init(historySize: 10))
        let channel = ChannelName(unchecked: "a")
        var ids: [StreamPosition] = []
        for _ in 0..<5 { ids.append(try hub.publish(payload(100), to: channel).message.position) }
        let start = StreamPosition(epoch: ids[0].epoch, offset: 0)
        let (_, resume) = try hub.subscribe(RecordingSubscriber(), to: channel, from: start, format: nil, on: loop)
        #expect(resume.messages.count == 5 && resume.gap == nil)
        let cut = resume.limited(toBytes: 250)
        #expect(cut.messages.map(\.position) == Array(ids[3...]))  // the newest that fit
        #expect(cut.gap == .tooLarge)
        #expect(resume.limited(toBytes: 500).gap == nil)
        let page = try #require(hub.history(of: channel, since: start, limit: 10, maxBytes: 250))
        #expect(page.messages.map(\.position) == Array(ids[..<2]))  // the oldest that fit
        #expect(page.truncated)
        let single = try #require(hub.history(of: channel, since: start, limit: 10, maxBytes: 10))
        #expect(single.messages.count == 1)  // at least one, so paging always moves on
    }

    @Test("a payload sliced from a large buffer is copied before history keeps it")
    func detachedPayload() throws {
        let hub = Hub()
        var big = ByteBuffer(repeating: 0x62, count: 65536)
        let slice = big.readSlice(length: 10)!
        let result = try hub.publish(PublishRequest(payload: slice), to: ChannelName(unchecked: "a"))
        #expect(result.message.payload.storageCapacity < 1024)
    }
}
