import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import Testing

@testable import SwitchboardCore

/// The hub as a mirror of a shared engine, driven by a scripted engine: what the engine stores and
/// which of its pub/sub messages reach the hub (dropped, reordered, of a new epoch) is up to each test.
/// The real engine (Redis) is tested in SwitchboardRedisTests and the integration tests.
@Suite("Hub as a mirror")
struct HubMirrorTests {
    let loop = EmbeddedEventLoop()
    let chat = ChannelName(unchecked: "chat")

    /// An engine whose stream the test writes; nothing reaches the hub unless the test ingests it.
    final class ScriptedEngine: ChannelEngine, @unchecked Sendable {
        let loop: EmbeddedEventLoop
        var head = ChannelHead(epoch: nil, offset: 0)
        var stream: [Message] = []
        var attached: [ChannelName] = []
        var detached: [ChannelName] = []
        var historyReads = 0

        init(loop: EmbeddedEventLoop) { self.loop = loop }

        /// Stores a message as the engine would; returns it for the test to ingest (or not).
        @discardableResult
        func store(_ text: String, channel: ChannelName = ChannelName(unchecked: "chat")) -> Message {
            let epoch = head.epoch ?? "e1"
            head = ChannelHead(
                epoch: epoch,
                offset: head.offset + 1,
                fencedEpoch: head.fencedEpoch,
                fenceOffset: head.fenceOffset
            )
            let message = Message(
                channel: channel,
                position: StreamPosition(epoch: epoch, offset: head.offset),
                payload: ByteBuffer(string: text),
                contentType: nil,
                eventType: nil,
                timestamp: 1_000_000
            )
            stream.append(message)
            return message
        }

        func publish(_ request: PublishRequest, to channel: ChannelName) -> EventLoopFuture<Message> {
            loop.makeSucceededFuture(store(String(buffer: request.payload), channel: channel))
        }
        func attach(_ channel: ChannelName) -> EventLoopFuture<Void> {
            attached.append(channel)
            return loop.makeSucceededVoidFuture()
        }
        func detach(_ channel: ChannelName) { detached.append(channel) }
        func history(of channel: ChannelName, limit: Int) -> EventLoopFuture<StoredPage> {
            historyReads += 1
            return loop.makeSucceededFuture(StoredPage(head: head, messages: Array(stream.suffix(limit))))
        }
        func heads(_ channels: [ChannelName]) -> EventLoopFuture<[ChannelHead]> {
            loop.makeSucceededFuture(channels.map { _ in head })
        }
        func delete(_ channel: ChannelName) -> EventLoopFuture<Bool> { loop.makeSucceededFuture(true) }
        var unavailableReason: String? { nil }
    }

    func makeHub(_ engine: ScriptedEngine, historySize: Int = 100) -> Hub {
        Hub(
            configuration: .init(historySize: historySize, historyTTLMilliseconds: 3_600_000),
            engine: engine,
            clock: { 1_000_000 }
        )
    }

    /// Subscribes through whenReady, as the front ends do; returns the subscriber and its resume.
    func subscribe(
        _ hub: Hub,
        from position: StreamPosition? = nil
    ) throws -> (RecordingSubscriber, Subscription, ResumeResult) {
        let subscriber = RecordingSubscriber()
        var outcome: (Subscription, ResumeResult)?
        var refusal: HubRefusal?
        hub.whenReady([chat], on: loop) {
            outcome = try? hub.subscribe(subscriber, to: chat, from: position, format: nil, on: loop)
        } refused: {
            refusal = $0
        }
        loop.run()
        if let refusal { throw refusal }
        let (subscription, resume) = try #require(outcome)
        return (subscriber, subscription, resume)
    }

    @Test("a cold channel is attached and filled from the engine's history before the subscribe runs")
    func coldSubscribe() throws {
        let engine = ScriptedEngine(loop: loop)
        for text in ["a", "b", "c"] { engine.store(text) }
        let hub = makeHub(engine)
        let (_, _, resume) = try subscribe(hub, from: StreamPosition(epoch: "e1", offset: 1))
        #expect(engine.attached == [chat])
        #expect(resume.messages.map { String(buffer: $0.payload) } == ["b", "c"])
        #expect(resume.gap == nil && resume.position.description == "e1:3")
        // A second subscriber is served from the mirror: no second read.
        _ = try subscribe(hub)
        #expect(engine.historyReads == 1)
    }

    @Test("a message that arrives ahead is held while the gap is read from the engine: in order, once each")
    func gapRepair() throws {
        let engine = ScriptedEngine(loop: loop)
        let hub = makeHub(engine)
        let (subscriber, _, _) = try subscribe(hub)
        let first = engine.store("1")
        hub.ingest(first)
        loop.run()
        #expect(subscriber.texts == ["1"])
        engine.store("2")  // lost on its way to this node
        let third = engine.store("3")
        hub.ingest(third)
        loop.run()
        #expect(subscriber.texts == ["1", "2", "3"])
        #expect(engine.historyReads == 2)
        hub.ingest(third)  // a duplicate changes nothing
        hub.ingest(engine.store("4"))
        loop.run()
        #expect(subscriber.texts == ["1", "2", "3", "4"])
        #expect(subscriber.gaps.isEmpty)
    }

    @Test("the engine losing the channel (a new epoch) is told to live subscribers at once")
    func newEpoch() throws {
        let engine = ScriptedEngine(loop: loop)
        engine.store("old")
        let hub = makeHub(engine)
        let (subscriber, subscription, _) = try subscribe(hub)
        // Redis restarted without its data; the next publish starts epoch e9.
        engine.head = ChannelHead(epoch: "e9", offset: 0)
        engine.stream = []
        hub.engineLinkUp()
        loop.run()
        #expect(subscriber.gaps.map(\.0) == [.newEpoch])
        #expect(subscription.position.description == "e9:0")
        hub.ingest(engine.store("new"))
        loop.run()
        #expect(subscriber.texts == ["new"])
    }

    @Test("a fence: subscribers past the fence are told possible-loss; a resume from the old epoch replays exactly")
    func fence() throws {
        let engine = ScriptedEngine(loop: loop)
        let hub = makeHub(engine)
        let (subscriber, _, _) = try subscribe(hub)
        for text in ["1", "2", "3", "4"] { hub.ingest(engine.store(text)) }
        loop.run()
        #expect(subscriber.texts == ["1", "2", "3", "4"])
        // The primary changed and lost offset 4: the promoted replica had 3; the next publish fences the
        // channel (epoch f1, offsets continuing from 3).
        engine.stream.removeLast()
        engine.head = ChannelHead(epoch: "f1", offset: 3, fencedEpoch: "e1", fenceOffset: 3)
        let five = engine.store("5 after the fence")
        #expect(five.position.description == "f1:4")
        hub.ingest(five)
        loop.run()
        #expect(subscriber.gaps.map(\.0) == [.possibleLoss])
        #expect(subscriber.texts.last == "5 after the fence")
        // A client of the old epoch that had seen the lost offset 4 resumes: from the fence, with the reason.
        let (_, _, resume) = try subscribe(hub, from: StreamPosition(epoch: "e1", offset: 4))
        #expect(resume.gap == .possibleLoss)
        #expect(resume.messages.map(\.position.description) == ["f1:4"])
        let (_, _, earlier) = try subscribe(hub, from: StreamPosition(epoch: "e1", offset: 2))
        #expect(earlier.messages.map(\.position.description) == ["e1:3", "f1:4"])
        #expect(earlier.gap == .possibleLoss)
    }

    @Test("the last subscriber leaving detaches the node from the channel; publishing goes through the engine")
    func detachAndPublish() throws {
        let engine = ScriptedEngine(loop: loop)
        let hub = makeHub(engine)
        #expect(throws: HubRefusal.self) { try hub.publish(request("sync"), to: chat) }
        let result = try hub.publish(request("through the engine"), to: chat, on: loop).wait()
        #expect(result.message.position.description == "e1:1")
        let (_, subscription, _) = try subscribe(hub)
        hub.unsubscribe(subscription, on: loop)
        #expect(engine.detached == [chat])
        #expect(hub.info(chat) == nil)
    }

    @Test("messages the engine no longer has: old subscribers are told too-old, a newer resume is not moved back")
    func trimmedWhileAway() throws {
        let engine = ScriptedEngine(loop: loop)
        let hub = makeHub(engine, historySize: 3)
        let (old, _, _) = try subscribe(hub)
        for text in ["1", "2", "3"] { hub.ingest(engine.store(text)) }
        loop.run()
        // 4 to 10 are published while this node's link is away; the engine keeps only 8 to 10.
        var last: Message?
        for index in 4...10 { last = engine.store("\(index)") }
        engine.stream = Array(engine.stream.suffix(3))
        hub.ingest(try #require(last))  // 10 arrives: a gap, repaired from the engine at once
        // Before the loop runs, a client that saw 9 elsewhere resumes here.
        let (newer, subscription, resume) = try subscribe(hub, from: StreamPosition(epoch: "e1", offset: 9))
        #expect(resume.messages.map(\.position.offset) == [10])
        loop.run()
        #expect(old.gaps.map(\.0) == [.tooOld])
        #expect(old.texts == ["1", "2", "3", "8", "9", "10"])
        #expect(newer.gaps.isEmpty && newer.texts.isEmpty, "not moved back, nothing twice")
        #expect(subscription.position.description == "e1:10")
        // History has no hole: a resume from before the gap is told so.
        let (_, _, fromThree) = try subscribe(hub, from: StreamPosition(epoch: "e1", offset: 3))
        #expect(fromThree.gap == .tooOld)
        #expect(fromThree.messages.map(\.position.offset) == [8, 9, 10])
    }

    @Test("a subscription of a deleted mirror, ended late, does not count down its successor")
    func successorIsNotCountedDown() throws {
        let engine = ScriptedEngine(loop: loop)
        engine.store("x")
        let hub = makeHub(engine)
        let (_, first, _) = try subscribe(hub)
        hub.engineDeleted(chat, epoch: "e1")
        engine.head = ChannelHead(epoch: nil, offset: 0)
        engine.stream = []
        let (_, second, _) = try subscribe(hub)
        hub.unsubscribe(first, on: loop)  // the deleted one: not counted in the new mirror
        #expect(hub.info(chat)?.subscribers == 1)
        #expect(engine.detached == [chat], "only the deletion detached")
        hub.unsubscribe(second, on: loop)
        #expect(engine.detached == [chat, chat])
        #expect(hub.info(chat) == nil)
    }

    @Test("a client ahead of this node's mirror (it saw the message elsewhere) does not get it twice")
    func aheadOfTheMirror() throws {
        let engine = ScriptedEngine(loop: loop)
        let hub = makeHub(engine)
        let (_, _, _) = try subscribe(hub)
        hub.ingest(engine.store("1"))
        loop.run()
        let second = engine.store("2")  // on its way to this node
        let (late, subscription, resume) = try subscribe(hub, from: second.position)
        #expect(resume.messages.isEmpty && resume.gap == nil)
        #expect(subscription.position == second.position)
        hub.ingest(second)
        hub.ingest(engine.store("3"))
        loop.run()
        #expect(late.texts == ["3"])
    }
}
