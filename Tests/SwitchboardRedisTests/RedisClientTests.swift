import NIOCore
import NIOPosix
import SwitchboardRedis
import SwitchboardServer
import Synchronization
import Testing

/// The client against a real redis-server that each test starts on a free loopback port.
@Suite(.serialized) struct RedisClientTests {
    /// What a client told its owner, in order.
    final class Recorder: Sendable {
        enum Event: Equatable {
            case up
            case down(RedisError.Code)
            case message(String, String)
            case unsubscribed(String)
        }
        let events = Mutex<[Event]>([])

        var clientEvents: RedisClient.Events {
            RedisClient.Events(
                linkUp: { self.events.withLock { $0.append(.up) } },
                linkDown: { error in self.events.withLock { $0.append(.down(error.code)) } },
                push: { push in
                    self.events.withLock {
                        switch push {
                        case .message(let channel, let payload): $0.append(.message(channel, String(buffer: payload)))
                        case .unsubscribed(let channel): $0.append(.unsubscribed(channel))
                        }
                    }
                }
            )
        }

        func waitFor(_ what: String, timeout: Duration = .seconds(10), _ done: ([Event]) -> Bool) async throws {
            let deadline = ContinuousClock.now + timeout
            while !done(events.withLock { $0 }) {
                guard ContinuousClock.now < deadline else {
                    Issue.record("timed out waiting for \(what); events: \(events.withLock { $0 })")
                    return
                }
                try await Task.sleep(for: .milliseconds(20))
            }
        }

        func count(_ event: Event) -> Int { events.withLock { $0.filter { $0 == event }.count } }
    }

    let group = MultiThreadedEventLoopGroup.singleton

    func client(
        _ redis: RedisServerProcess,
        endpoint: RedisEndpoint? = nil,
        recorder: Recorder,
        configuration: RedisClient.Configuration = .init()
    ) -> RedisClient {
        RedisClient(
            endpoint: endpoint ?? redis.endpoint,
            configuration: configuration,
            connector: PosixTCPConnector(),
            eventLoop: group.next(),
            events: recorder.clientEvents
        )
    }

    @Test func pipelinesAThousandCommandsAndKeepsTheirOrder() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let recorder = Recorder()
        let client = client(redis, recorder: recorder)
        client.start()
        defer { client.shutdown() }
        try await recorder.waitFor("link up") { $0.contains(.up) }

        let writes = (0..<1000).map { RESPCommand("RPUSH", "list", .integer(Int64($0))) }
        let replies = try await EventLoopFuture.whenAllSucceed(client.send(writes), on: client.eventLoop).get()
        #expect(replies.map(\.integer) == (1...1000).map { Int64($0) })
        let list = try await client.send(RESPCommand("LRANGE", "list", "0", "-1")).get()
        #expect(list.elements?.compactMap(\.string) == (0..<1000).map { String($0) })
        // An error reply fails its own command only.
        await #expect(throws: RedisError.self) { try await client.send(RESPCommand("INCR", "list")).get() }
        #expect(try await client.send(RESPCommand("PING")).get() == .simpleString("PONG"))
    }

    @Test func logsInWithAUserAndPassword() async throws {
        let redis = try RedisServerProcess(arguments: ["--requirepass", "s3cret"])
        defer { redis.stop() }
        let good = Recorder()
        var endpoint = redis.endpoint
        endpoint.password = "s3cret"
        endpoint.database = 3
        let client = client(redis, endpoint: endpoint, recorder: good)
        client.start()
        defer { client.shutdown() }
        try await good.waitFor("link up") { $0.contains(.up) }
        _ = try await client.send(RESPCommand("SET", "k", "v")).get()
        #expect(try await client.send(RESPCommand("CLIENT", "INFO")).get().string?.contains("db=3") == true)

        let bad = Recorder()
        endpoint.password = "wrong"
        let refused = self.client(redis, endpoint: endpoint, recorder: bad)
        refused.start()
        defer { refused.shutdown() }
        try await bad.waitFor("link down") { $0.contains(.down(.unavailable)) }
        #expect(refused.lastError?.message.contains("WRONGPASS") == true, "\(String(describing: refused.lastError))")
        #expect(!refused.isUp)
    }

    @Test func subscribesReceivesAndRestoresSubscriptionsAfterClientKill() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let recorder = Recorder()
        // No probe within the test: the killed connection must be noticed by its close alone (the
        // server's connector allows half-closure, so Redis' FIN arrives as an event, not a close).
        let subscriber = client(redis, recorder: recorder, configuration: .init(probeInterval: .seconds(60)))
        let publisher = client(redis, recorder: Recorder())
        subscriber.start()
        publisher.start()
        defer {
            subscriber.shutdown()
            publisher.shutdown()
        }
        try await recorder.waitFor("link up") { $0.contains(.up) }
        try await subscriber.subscribe(["{a}", "{b}"]).get()
        for _ in 0..<100 where !publisher.isUp { try await Task.sleep(for: .milliseconds(20)) }
        _ = try await publisher.send(RESPCommand("SPUBLISH", "{a}", "one")).get()
        try await recorder.waitFor("first message") { $0.contains(.message("{a}", "one")) }

        // Kill the pub/sub connection: the client reconnects at once and subscribes again.
        let killed = try await publisher.send(RESPCommand("CLIENT", "KILL", "TYPE", "pubsub")).get()
        #expect(killed.integer == 1)
        try await recorder.waitFor("down and up again") { $0.filter { $0 == .up }.count == 2 }
        #expect(recorder.count(.down(.connectionClosed)) == 1)
        _ = try await publisher.send(RESPCommand("SPUBLISH", "{b}", "two")).get()
        try await recorder.waitFor("message after the restore") { $0.contains(.message("{b}", "two")) }

        subscriber.unsubscribe(["{a}"])
        // Redis confirms in order: once a later command is answered, {a} is gone.
        _ = try await subscriber.send(RESPCommand("PING")).get()
        _ = try await publisher.send(RESPCommand("SPUBLISH", "{a}", "three")).get()
        _ = try await publisher.send(RESPCommand("SPUBLISH", "{b}", "four")).get()
        try await recorder.waitFor("four") { $0.contains(.message("{b}", "four")) }
        #expect(recorder.count(.message("{a}", "three")) == 0)
    }

    @Test func aSilentRedisIsNoticedByTheProbeAndCommandsFailFastUntilItReturns() async throws {
        let redis = try RedisServerProcess()
        defer { redis.stop() }
        let recorder = Recorder()
        var configuration = RedisClient.Configuration(probeInterval: .milliseconds(200))
        configuration.connection.commandTimeout = .milliseconds(500)
        configuration.connection.connectTimeout = .milliseconds(500)
        let client = client(redis, recorder: recorder, configuration: configuration)
        client.start()
        defer { client.shutdown() }
        try await recorder.waitFor("link up") { $0.contains(.up) }

        redis.pause()
        let started = ContinuousClock.now
        try await recorder.waitFor("the probe's timeout") { $0.contains(.down(.timeout)) }
        #expect(ContinuousClock.now - started < .seconds(3))
        // Down: a command fails at once instead of waiting for Redis.
        let refused = ContinuousClock.now
        await #expect(throws: RedisError.self) { try await client.send(RESPCommand("PING")).get() }
        #expect(ContinuousClock.now - refused < .milliseconds(100))

        redis.resume()
        try await recorder.waitFor("link up again") { $0.filter { $0 == .up }.count == 2 }
        #expect(try await client.send(RESPCommand("PING")).get() == .simpleString("PONG"))
    }

    @Test func aServerThatIsNotThereIsRetriedUntilItIs() async throws {
        let recorder = Recorder()
        let redis = try RedisServerProcess()
        let port = redis.port
        redis.stop()
        var configuration = RedisClient.Configuration(
            initialBackoff: .milliseconds(20),
            maximumBackoff: .milliseconds(200)
        )
        configuration.connection.connectTimeout = .milliseconds(500)
        let client = RedisClient(
            endpoint: RedisEndpoint(host: "127.0.0.1", port: port),
            configuration: configuration,
            connector: PosixTCPConnector(),
            eventLoop: group.next(),
            events: recorder.clientEvents
        )
        client.start()
        defer { client.shutdown() }
        try await recorder.waitFor("link down") { $0.contains(.down(.unavailable)) }
        let error = await #expect(throws: RedisError.self) { try await client.send(RESPCommand("PING")).get() }
        #expect(error?.code == .unavailable)
        // Retries are not announced again.
        try await Task.sleep(for: .milliseconds(500))
        #expect(recorder.events.withLock { $0 } == [.down(.unavailable)])
    }
}
