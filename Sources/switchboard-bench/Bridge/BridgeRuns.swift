import DequeModule
import Foundation
import Histogram
import NIOCore
import NIOPosix

/// The three measurements of `switchboard-bench bridge`. Each run is an object confined to the event
/// loop of its connections; the command waits for its result.
enum BridgeRuns {
    static func histogram() -> Histogram<UInt64> {
        Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 600_000_000,
            numberOfSignificantValueDigits: .three
        )
    }

    /// Opens one echo client (through the bridge, or `direct` to the echo server), on `eventLoop`.
    static func open(
        _ pattern: URLPattern,
        direct: BridgeTarget?,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<NIOLoopBound<EchoClientHandler>> {
        let ready = eventLoop.makePromise(of: Void.self)
        let host = direct?.host ?? pattern.host
        let port = direct?.port ?? pattern.port
        let path = direct == nil ? pattern.pathTemplate : nil
        return eventLoop.submit {
            NIOLoopBound(
                EchoClientHandler(host: host, port: port, webSocketPath: path, ready: ready),
                eventLoop: eventLoop
            )
        }.flatMap { bound in
            let connected = ClientBootstrap(group: eventLoop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(bound.value)
                    }
                }
                .connect(host: host, port: port)
            connected.whenFailure { ready.fail($0) }  // the handshake never starts: nobody else fails it
            return connected.flatMap { _ in ready.futureResult }.map { bound }
        }
    }

    /// Moves `bytes` through one connection, at most 4 MB in flight, and returns the seconds it took:
    /// echoed (`echo` target), sent (`sink` target: it answers one byte per MiB) or received (`source`).
    static func throughput(
        pattern: URLPattern,
        bytes: Int,
        direction: ThroughputRun.Direction,
        on eventLoop: any EventLoop
    ) throws -> Double {
        let client = try open(pattern, direct: nil, on: eventLoop).wait()
        let done = eventLoop.makePromise(of: Double.self)
        try eventLoop.submit {
            ThroughputRun(client: client.value, bytes: bytes, direction: direction, done: done).start()
        }.wait()
        return try done.futureResult.wait()
    }

    /// `messages` round trips of `size` bytes, one at a time; their times in microseconds.
    static func latency(
        pattern: URLPattern,
        direct: BridgeTarget?,
        messages: Int,
        size: Int,
        on eventLoop: any EventLoop
    ) throws -> Histogram<UInt64> {
        let client = try open(pattern, direct: direct, on: eventLoop).wait()
        let done = eventLoop.makePromise(of: Histogram<UInt64>.self)
        try eventLoop.submit {
            LatencyRun(client: client.value, messages: messages, size: size, done: done).start()
        }.wait()
        return try done.futureResult.wait()
    }

    /// `connections` clients, each sending `rate` messages a second for `seconds`; round-trip times and
    /// how many came back.
    static func concurrent(
        pattern: URLPattern,
        connections: Int,
        rate: Double,
        seconds: Double,
        size: Int,
        on eventLoop: any EventLoop
    ) throws -> (Histogram<UInt64>, Int) {
        var clients: [NIOLoopBound<EchoClientHandler>] = []
        for _ in 0..<connections { clients.append(try open(pattern, direct: nil, on: eventLoop).wait()) }
        let done = eventLoop.makePromise(of: ConcurrentRun.Outcome.self)
        let all = clients
        try eventLoop.submit {
            ConcurrentRun(
                clients: all.map(\.value),
                rate: rate,
                seconds: seconds,
                size: size,
                eventLoop: eventLoop,
                done: done
            ).start()
        }.wait()
        let outcome = try done.futureResult.wait()
        return (outcome.histogram, outcome.count)
    }
}

/// Bulk transfer on one connection.
final class ThroughputRun {
    enum Direction {
        /// Both ways: what is sent comes back.
        case echo
        /// To the target, which answers one byte per MiB.
        case upload
        /// From the target, which sends without end.
        case download
    }

    private let client: EchoClientHandler
    private let bytes: Int
    private let direction: Direction
    private let done: EventLoopPromise<Double>
    private let chunk = ByteBuffer(repeating: 0x61, count: 64 << 10)
    private var sent = 0
    private var received = 0
    private var startedAt = 0.0

    init(client: EchoClientHandler, bytes: Int, direction: Direction, done: EventLoopPromise<Double>) {
        self.client = client
        self.bytes = bytes
        self.direction = direction
        self.done = done
    }

    func start() {
        startedAt = Clock.seconds()
        client.onBytes = { [self] data in
            // An upload's target acknowledges a MiB with one byte.
            received += direction == .upload ? data.readableBytes << 20 : data.readableBytes
            if received >= bytes {
                done.succeed(Clock.seconds() - startedAt)
                client.close()
            } else if direction != .download {
                pump()
            }
        }
        client.onClose = { [done] in done.fail(ChannelError.ioOnClosedChannel) }
        if direction != .download { pump() }
    }

    private func pump() {
        var wrote = false
        while sent < bytes, sent - received < 4 << 20 {
            client.send(chunk, flush: false)
            sent += chunk.readableBytes
            wrote = true
        }
        if wrote { client.flush() }
    }
}

/// Round trips one at a time.
final class LatencyRun {
    private let client: EchoClientHandler
    private let messages: Int
    private let size: Int
    private let done: EventLoopPromise<Histogram<UInt64>>
    private var histogram = BridgeRuns.histogram()
    private var count = 0
    private var pending = 0
    private var sentAt: UInt64 = 0
    private let message: ByteBuffer

    init(client: EchoClientHandler, messages: Int, size: Int, done: EventLoopPromise<Histogram<UInt64>>) {
        self.client = client
        self.messages = messages
        self.size = size
        self.done = done
        self.message = ByteBuffer(repeating: 0x62, count: size)
    }

    func start() {
        client.onBytes = { [self] data in
            pending += data.readableBytes
            guard pending >= size else { return }
            pending -= size
            _ = histogram.record((Clock.nanos() - sentAt) / 1000)
            count += 1
            if count == messages { done.succeed(histogram) } else { next() }
        }
        client.onClose = { [done] in done.fail(ChannelError.ioOnClosedChannel) }
        next()
    }

    private func next() {
        sentAt = Clock.nanos()
        client.send(message)
    }
}

/// Many connections at a steady rate each, spread evenly over the interval.
final class ConcurrentRun {
    struct Outcome {
        var histogram: Histogram<UInt64>
        var count: Int
    }

    private let clients: [EchoClientHandler]
    private let size: Int
    private let interval: UInt64
    private let eventLoop: any EventLoop
    private let done: EventLoopPromise<Outcome>
    private let message: ByteBuffer
    private var histogram = BridgeRuns.histogram()
    private var count = 0
    private var sendTimes: [Deque<UInt64>]
    private var pending: [Int]
    private var nextSend: [UInt64]
    private var startedAt: UInt64 = 0
    private let end: UInt64

    init(
        clients: [EchoClientHandler],
        rate: Double,
        seconds: Double,
        size: Int,
        eventLoop: any EventLoop,
        done: EventLoopPromise<Outcome>
    ) {
        self.clients = clients
        self.size = size
        self.interval = UInt64(1e9 / rate)
        self.eventLoop = eventLoop
        self.done = done
        self.message = ByteBuffer(repeating: 0x63, count: size)
        self.sendTimes = Array(repeating: Deque<UInt64>(), count: clients.count)
        self.pending = Array(repeating: 0, count: clients.count)
        self.nextSend = (0..<clients.count).map { UInt64(Double($0) / Double(clients.count) * 1e9 / rate) }
        self.end = UInt64(seconds * 1e9)
    }

    func start() {
        for (index, client) in clients.enumerated() {
            client.onBytes = { [self] data in received(data.readableBytes, on: index) }
        }
        startedAt = Clock.nanos()
        let run = NIOLoopBound(self, eventLoop: eventLoop)
        eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(10)) { task in
            run.value.tick(task)
        }
    }

    private func received(_ bytes: Int, on index: Int) {
        pending[index] += bytes
        while pending[index] >= size, let sent = sendTimes[index].popFirst() {
            pending[index] -= size
            _ = histogram.record((Clock.nanos() - sent) / 1000)
            count += 1
        }
    }

    private func tick(_ task: RepeatedTask) {
        let now = Clock.nanos()
        if now - startedAt >= end {
            task.cancel()
            let run = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.scheduleTask(in: .milliseconds(500)) {
                run.value.done.succeed(Outcome(histogram: run.value.histogram, count: run.value.count))
            }
            return
        }
        for index in clients.indices where nextSend[index] <= now - startedAt {
            sendTimes[index].append(now)
            clients[index].send(message)
            nextSend[index] += interval
        }
    }
}
