import ArgumentParser
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// `switchboard-bench worker`: opens a range of the subscribers and reports what they receive. Started by
/// the coordinator; talks to it through lines on standard input and output (`READY`, `PROGRESS`, `REPORT`).
struct WorkerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Internal: a subscriber process.",
        shouldDisplay: false
    )

    @OptionGroup var subscription: SubscriptionOptions
    @Option var first: Int
    @Option var count: Int

    func run() throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let loop = group.next()
        let options = subscription
        let (first, count) = (self.first, self.count)
        let worker = try loop.submit { Worker.start(options: options, first: first, count: count, eventLoop: loop) }
            .wait()
        let commands = CommandReader()
        while let line = commands.next() {
            switch line {
            case "RESET":
                try loop.submit { worker.value.stats.reset() }.wait()
                Output.line("OK")
            case "REPORT":
                let report = try loop.submit { worker.value.report() }.wait()
                let json = try JSONEncoder().encode(report)
                Output.line("REPORT " + String(decoding: json, as: UTF8.self))
            case "EXIT":
                return
            default:
                Output.line("ERROR unknown command \(line)")
            }
        }
    }
}

/// The subscribers of one worker process and their statistics; lives on one event loop.
final class Worker {
    let stats = DeliveryStats()
    let events = ConnectionEvents()
    private let options: SubscriptionOptions
    private let eventLoop: any EventLoop
    private var next: Int
    private let end: Int
    private var inFlight = 0
    private var announcedReady = false
    private let startTime = Clock.seconds()

    /// Returns a loop-bound reference: the worker is confined to `eventLoop`.
    static func start(
        options: SubscriptionOptions,
        first: Int,
        count: Int,
        eventLoop: any EventLoop
    ) -> NIOLoopBound<Worker> {
        NIOLoopBound(Worker(options: options, first: first, count: count, eventLoop: eventLoop), eventLoop: eventLoop)
    }

    private init(options: SubscriptionOptions, first: Int, count: Int, eventLoop: any EventLoop) {
        self.options = options
        self.eventLoop = eventLoop
        self.next = first
        self.end = first + count
        let worker = NIOLoopBound(self, eventLoop: eventLoop)
        events.onConnected = { worker.value.connectionSettled() }
        eventLoop.scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
            Output.line(
                "PROGRESS \(worker.value.stats.unique) \(worker.value.events.connected) \(worker.value.events.closed)"
            )
        }
        openMore()
    }

    /// Opens connections: at most 512 handshakes in flight, or `--connect-rate` per second.
    private func openMore() {
        let limit = options.connectRate > 0 ? max(1, options.connectRate / 100) : 512
        while inFlight < limit && next < end {
            let index = next
            next += 1
            for pattern in options.patterns(ofSubscriber: index) {
                inFlight += 1
                open(subscriber: index, pattern: pattern)
            }
        }
        if options.connectRate > 0 && next < end {
            let worker = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.scheduleTask(in: .milliseconds(10)) { worker.value.openMore() }
        }
    }

    private func connectionSettled() {
        inFlight -= 1
        if options.connectRate == 0 { openMore() }
        if next == end && inFlight == 0 && !announcedReady {
            announcedReady = true
            Output.line("READY \(events.connected) \(events.failed) \(Clock.seconds() - startTime)")
        }
    }

    private func open(subscriber index: Int, pattern: URLPattern) {
        let layout = options.layoutValue
        let (channel, group) = layout.channels(ofSubscriber: index)
        let usesGroup = pattern.mentionsGroup
        let usesChannel = pattern.mentionsChannel
        // A pattern with only {group} subscribes to the group channel alone (nchan: one connection per channel).
        let state = SubscriptionState(
            channel: usesChannel ? channel : (group ?? channel),
            group: usesChannel && usesGroup ? group : nil
        )
        let path = pattern.path(channel: layout.channelName(channel), group: group.map(layout.channelName))
        let transport = options.transport
        let worker = NIOLoopBound(self, eventLoop: eventLoop)
        let host = pattern.host
        let port = pattern.port
        let (dialect, room) = (options.sioDialect, layout.channelName(channel))
        ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.maxMessagesPerRead, value: 16)
            .connectTimeout(.seconds(30))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let (stats, events) = (worker.value.stats, worker.value.events)
                    let pipeline = channel.pipeline.syncOperations
                    switch transport {
                    case .ws:
                        try pipeline.addHandler(
                            StreamSubscriberHandler(
                                parser: WebSocketStreamParser(),
                                host: host,
                                port: port,
                                path: path,
                                state: state,
                                stats: stats,
                                events: events
                            )
                        )
                    case .sse:
                        try pipeline.addHandler(
                            StreamSubscriberHandler(
                                parser: EventStreamParser(),
                                host: host,
                                port: port,
                                path: path,
                                state: state,
                                stats: stats,
                                events: events
                            )
                        )
                    case .sio:
                        try pipeline.addHandler(
                            StreamSubscriberHandler(
                                parser: SocketIOStreamParser(dialect: dialect, room: room),
                                host: host,
                                port: port,
                                path: path,
                                state: state,
                                stats: stats,
                                events: events
                            )
                        )
                    case .siopoll:
                        try pipeline.addHTTPClientHandlers()
                        try pipeline.addHandler(
                            SocketIOPollingClientHandler(
                                host: host,
                                port: port,
                                path: path,
                                dialect: dialect,
                                room: room,
                                state: state,
                                stats: stats,
                                events: events
                            )
                        )
                    case .longpoll:
                        try pipeline.addHTTPClientHandlers()
                        try pipeline.addHandler(
                            LongPollClientHandler(
                                host: host,
                                port: port,
                                path: path,
                                state: state,
                                stats: stats,
                                events: events
                            )
                        )
                    }
                }
            }
            .connect(host: host, port: port)
            .whenFailure { _ in worker.value.events.connectionFailed() }
    }

    func report() -> WorkerReport {
        let report = WorkerReport(
            unique: stats.unique,
            duplicates: stats.duplicates,
            unexpected: stats.unexpected,
            connected: events.connected,
            failed: events.failed,
            closed: events.closed,
            latency: stats.latency
        )
        stats.reset()
        return report
    }
}

/// Reads lines from standard input.
struct CommandReader {
    func next() -> String? {
        readLine(strippingNewline: true)
    }
}

/// Line output that is never buffered behind a pipe.
enum Output {
    private static let lock = NIOLock()

    static func line(_ text: String) {
        lock.withLock {
            var bytes = Array((text + "\n").utf8)
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress! + offset, $0.count - offset) }
                if written <= 0 { return }
                offset += written
            }
        }
    }
}
