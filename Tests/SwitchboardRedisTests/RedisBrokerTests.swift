import NIOCore
import NIOPosix
import SwitchboardCore
import SwitchboardRedis
import SwitchboardServer
import Synchronization
import Testing

/// The broker against a real redis-server: two brokers are two nodes sharing it.
@Suite(.serialized) struct RedisBrokerTests {
    final class Node: Sendable {
        let broker: RedisBroker
        let received = Mutex<[String]>([])
        let deleted = Mutex<[String]>([])
        let ups = Mutex(0)
        let downs = Mutex(0)

        init(_ redis: RedisServerProcess, historySize: Int = 100) {
            let box = Mutex<Node?>(nil)
            let counter = Counter()
            broker = RedisBroker(
                endpoint: redis.endpoint,
                configuration: .init(historySize: historySize),
                connector: PosixTCPConnector(),
                eventLoop: MultiThreadedEventLoopGroup.singleton.next(),
                events: .init(
                    received: { message in
                        box.withLock { $0 }?.received.withLock {
                            $0.append("\(message.position) \(String(buffer: message.payload))")
                        }
                    },
                    deleted: { channel, epoch in
                        box.withLock { $0 }?.deleted.withLock { $0.append("\(channel) \(epoch)") }
                    },
                    linkUp: { box.withLock { $0 }?.ups.withLock { $0 += 1 } },
                    linkDown: { _ in box.withLock { $0 }?.downs.withLock { $0 += 1 } }
                ),
                makeEpoch: { counter.next() }
            )
            box.withLock { $0 = self }
        }

        func start() async throws {
            broker.start()
            try await waitFor("link up") { broker.isUp }
        }
    }

    final class Counter: Sendable {
        let value = Mutex(0)
        func next() -> String {
            "e"
                + String(
                    value.withLock {
                        $0 += 1
                        return $0
                    }
                )
        }
    }

    static func waitFor(_ what: String, timeout: Duration = .seconds(10), _ done: () -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        while !done() {
            guard ContinuousClock.now < deadline else {
                Issue.record("timed out waiting for \(what)")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }

    func request(_ text: String, contentType: String? = nil) -> PublishRequest {
        PublishRequest(
            payload: ByteBuffer(string: text),
            contentType: contentType,
            eventType: "tick",
            headers: [MessageHeader(name: "x-a", value: "1")]
        )
    }

    @Test func publishStoresInOrderAndEveryAttachedNodeReceives() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let a = Node(redis)
        let b = Node(redis)
        try await a.start()
        try await b.start()
        defer {
            a.broker.shutdown()
            b.broker.shutdown()
        }
        let news = ChannelName(unchecked: "news")
        try await b.broker.attach(news).get()
        var positions: [String] = []
        for index in 1...5 {
            let message = try await a.broker.publish(request("m\(index)", contentType: "text/plain"), to: news).get()
            positions.append(message.position.description)
            #expect(message.contentType == "text/plain" && message.eventType == "tick")
            #expect(message.headers == [MessageHeader(name: "x-a", value: "1")])
        }
        // One epoch, made by the first publish; offsets from 1.
        let epoch = positions[0].split(separator: ":")[0]
        #expect(positions == (1...5).map { "\(epoch):\($0)" })
        try await Self.waitFor("five messages on node B") { b.received.withLock { $0.count } == 5 }
        #expect(b.received.withLock { $0 } == (1...5).map { "\(epoch):\($0) m\($0)" })
        #expect(a.received.withLock { $0 }.isEmpty, "node A did not attach")

        // History and head from the other node.
        let page = try await b.broker.history(of: news, after: 2, limit: 2).get()
        #expect(
            page.messages.map { "\($0.position) \(String(buffer: $0.payload))" } == ["\(epoch):3 m3", "\(epoch):4 m4"]
        )
        #expect(page.head == ChannelHead(epoch: String(epoch), offset: 5))
        #expect(page.messages[0].eventType == "tick")
        let heads = try await b.broker.heads([news, ChannelName(unchecked: "nothing")]).get()
        #expect(heads == [ChannelHead(epoch: String(epoch), offset: 5), ChannelHead(epoch: nil, offset: 0)])

        // Delete: attached nodes are told which epoch ended; a new publish starts a new epoch at 1.
        #expect(try await a.broker.delete(news).get())
        #expect(try await a.broker.delete(news).get() == false)
        try await Self.waitFor("the deletion on node B") { !b.deleted.withLock { $0 }.isEmpty }
        #expect(b.deleted.withLock { $0 } == ["news \(epoch)"])
        let fresh = try await a.broker.publish(request("again"), to: news).get()
        #expect(fresh.position.offset == 1 && fresh.position.epoch != String(epoch))
    }

    @Test func historyIsTrimmedToItsSize() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let node = Node(redis, historySize: 3)
        try await node.start()
        defer { node.broker.shutdown() }
        let channel = ChannelName(unchecked: "trimmed")
        for index in 1...10 { _ = try await node.broker.publish(request("m\(index)"), to: channel).get() }
        let page = try await node.broker.history(of: channel, after: nil, limit: 100).get()
        #expect(page.messages.map(\.position.offset) == [8, 9, 10])
        #expect(page.head.offset == 10)
    }

    @Test func redisLosingItsDataStartsANewEpoch() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let node = Node(redis)
        try await node.start()
        defer { node.broker.shutdown() }
        let channel = ChannelName(unchecked: "lost")
        let first = try await node.broker.publish(request("one"), to: channel).get()
        _ = try await node.broker.publish(request("two"), to: channel).get()
        // FLUSHALL drops keys and functions alike, as a restart without persistence does.
        let admin = Node(redis)
        try await admin.start()
        defer { admin.broker.shutdown() }
        _ = try await rawCommand(redis, RESPCommand("FUNCTION", "FLUSH"))
        _ = try await rawCommand(redis, RESPCommand("FLUSHALL"))
        let after = try await node.broker.publish(request("three"), to: channel).get()
        #expect(after.position.epoch != first.position.epoch, "the function was loaded again and a new epoch begun")
        #expect(after.position.offset == 1)
    }

    @Test func aChangeOfPrimaryFencesTheChannelWithoutReusingAnOffset() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let node = Node(redis)
        try await node.start()
        defer { node.broker.shutdown() }
        let channel = ChannelName(unchecked: "fenced")
        for index in 1...3 { _ = try await node.broker.publish(request("m\(index)"), to: channel).get() }
        let before = try await node.broker.heads([channel]).get()[0]
        // As if an asynchronous replica had been promoted: the last publish was seen by another primary.
        _ = try await rawCommand(redis, RESPCommand("HSET", "sb:{fenced}:m", "r", "another-primary"))
        let after = try await node.broker.publish(request("m4"), to: channel).get()
        #expect(after.position.epoch != before.epoch)
        #expect(after.position.offset == 4, "offsets continue: none is reused under any epoch")
        let page = try await node.broker.history(of: channel, after: nil, limit: 10).get()
        #expect(page.head.fencedEpoch == before.epoch && page.head.fenceOffset == 3)
        #expect(
            page.messages.map(\.position.description) == [
                "\(before.epoch!):1", "\(before.epoch!):2", "\(before.epoch!):3", "\(after.position.epoch):4",
            ]
        )
    }

    @Test func publishesAreRefusedAtOnceWhileRedisIsDown() async throws {
        let redis = try RedisServerProcess()
        let node = Node(redis)
        try await node.start()
        defer { node.broker.shutdown() }
        redis.stop()
        // Both links notice on their own; publishes are refused once the command link has.
        try await Self.waitFor("link down") { !node.broker.isUp && !node.broker.acceptsPublishes }
        let error = await #expect(throws: RedisError.self) {
            try await node.broker.publish(request("x"), to: ChannelName(unchecked: "c")).get()
        }
        #expect(error?.code == .unavailable)
        #expect(node.downs.withLock { $0 } == 1)
        #expect(node.broker.unavailableReason != nil)
    }

    /// One command on a connection of its own.
    func rawCommand(_ redis: RedisServerProcess, _ command: RESPCommand) async throws -> RESPValue {
        let connection = try await RedisConnection.connect(
            to: redis.endpoint,
            using: PosixTCPConnector(),
            on: MultiThreadedEventLoopGroup.singleton.next()
        ).get()
        defer { connection.close() }
        return try await connection.send(command).get()
    }
}
