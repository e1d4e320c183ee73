import ArgumentParser
import Foundation
import Histogram
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// `switchboard-bench run` (the default): starts the subscriber workers, publishes each rate step and
/// reports.
struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a benchmark (the default command)."
    )

    @OptionGroup var subscription: SubscriptionOptions

    @Option(
        name: .customLong("pub-url"),
        help: "Publisher URL with {ch}, e.g. http://127.0.0.1:8000/pub/{ch}; or a Socket.IO WebSocket URL (events)."
    )
    var pubURL: String?

    @Option(help: "Publish rates (publishes/s in total), run one after the other; 0 = as fast as possible.")
    var rates: String = ""

    @Option(help: "Seconds per rate step.")
    var stepSeconds: Double = 10

    @Option(help: "Stop stepping after a step whose p99 latency is over this many milliseconds.")
    var stopP99Ms: Double?

    @Option(help: "Payload size in bytes.")
    var size = 64

    @Option(help: "Publishing connections.")
    var publishers = 4

    @Option(help: "Requests in flight per publishing connection.")
    var depth = 16

    @Option(help: "After ramp-up, measure this many idle seconds (no publishing).")
    var idleSeconds: Double = 0

    @Option(help: "The server's pid, for its CPU time and RSS.")
    var serverPid: Int32?

    @Option(help: "A file the server's allocation counter (bench/probe/malloc_count.so) writes its total to.")
    var mallocCountFile: String?

    @Option(help: "Subscriber worker processes (default: one per 15,000 connections).")
    var processes: Int?

    @Option(help: "A name for this run.")
    var label = "run"

    @Option(help: "Write the results to this JSON file.")
    var json: String?

    func run() throws {
        let layout = subscription.layoutValue
        let probe = serverPid.map(ServerProbe.init)
        let baseline = probe?.sample()
        let workers = try startWorkers(connectionsPerSubscriber: subscription.connectionsPerSubscriber)
        defer { for worker in workers { worker.terminate() } }

        var connected = 0
        var failed = 0
        var connectSeconds = 0.0
        for worker in workers {
            guard let line = worker.waitFor("READY", timeout: 600) else {
                throw ValidationError("a worker did not get ready")
            }
            let fields = line.split(separator: " ")
            connected += Int(fields[1]) ?? 0
            failed += Int(fields[2]) ?? 0
            connectSeconds = max(connectSeconds, Double(fields[3]) ?? 0)
        }
        let afterConnect = probe?.sample()
        var result = RunResult(
            label: label,
            transport: subscription.transport.rawValue,
            subscribers: subscription.subscribers,
            connections: connected,
            failedConnections: failed,
            connect: .init(
                seconds: round2(connectSeconds),
                perSecond: round2(Double(connected) / max(connectSeconds, 0.001))
            ),
            serverRSSBeforeBytes: baseline?.rssBytes
        )
        Report.connected(result)
        if idleSeconds > 0, let probe, let baseline, let afterConnect {
            Thread.sleep(forTimeInterval: 1)  // Let the ramp-up's last work settle.
            let start = probe.sample() ?? afterConnect
            Thread.sleep(forTimeInterval: idleSeconds)
            let end = probe.sample() ?? start
            result.idle = .init(
                seconds: idleSeconds,
                serverCPUPercent: round2((end.cpuSeconds - start.cpuSeconds) / (end.time - start.time) * 100),
                serverRSSBytes: end.rssBytes,
                rssPerConnectionBytes: round2(Double(end.rssBytes - baseline.rssBytes) / Double(max(connected, 1)))
            )
            Report.idle(result.idle!)
        }
        if let pubURL, !rates.isEmpty {
            guard let pattern = URLPattern(pubURL) else {
                throw ValidationError("--pub-url: expected http://HOST:PORT/PATH")
            }
            result.steps = try runSteps(pattern: pattern, layout: layout, workers: workers, probe: probe)
        }
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(result).write(to: URL(fileURLWithPath: json))
        }
    }

    private func startWorkers(connectionsPerSubscriber: Int) throws -> [WorkerProcess] {
        let total = subscription.subscribers
        let count = max(
            1,
            min(total, processes ?? Int((Double(total * connectionsPerSubscriber) / 15_000).rounded(.up)))
        )
        var first = 0
        return try (0..<count).map { index in
            let share = total / count + (index < total % count ? 1 : 0)
            defer { first += share }
            return try WorkerProcess(
                arguments: subscription.arguments + ["--first", String(first), "--count", String(share)]
            )
        }
    }

    private func runSteps(
        pattern: URLPattern,
        layout: Layout,
        workers: [WorkerProcess],
        probe: ServerProbe?
    ) throws -> [StepResult] {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let (size, publishers, depth) = (self.size, self.publishers, self.depth)
        let dialect = subscription.sioDialect
        let publisher = try loop.submit {
            NIOLoopBound(
                Publisher(eventLoop: loop, pattern: pattern, layout: layout, size: size, dialect: dialect),
                eventLoop: loop
            )
        }.wait()
        try loop.flatSubmit { publisher.value.connect(count: publishers, depth: depth) }.wait()
        var steps: [StepResult] = []
        Report.header()
        for rateText in rates.split(separator: ",") {
            guard let rate = Double(rateText.trimmingCharacters(in: .whitespaces)) else {
                throw ValidationError("bad rate \(rateText)")
            }
            for worker in workers {
                worker.send("RESET")
                _ = worker.waitFor("OK", timeout: 30)
            }
            let cpuStart = probe?.sample()
            let allocationsStart = readAllocationCount()
            let start = Clock.seconds()
            loop.execute { publisher.value.start(rate: rate) }
            while Clock.seconds() - start < stepSeconds {
                Thread.sleep(forTimeInterval: min(1, stepSeconds - (Clock.seconds() - start)))
                let published = try loop.submit { publisher.value.published }.wait()
                Report.progress(
                    seconds: Clock.seconds() - start,
                    published: published,
                    delivered: workers.reduce(0) { $0 + $1.progress.withLockedValue { $0.0 } }
                )
            }
            let publishedInStep = try loop.submit {
                publisher.value.stop()
                return publisher.value.publishedInStep
            }.wait()
            let expected = expectedDeliveries(publishedInStep, layout: layout)
            let end = drain(expected: expected, workers: workers, publisher: publisher, loop: loop)
            let cpuEnd = probe?.sample()
            let allocationsEnd = readAllocationCount()
            var step = try collect(
                rate: rate,
                publishedInStep: publishedInStep,
                expected: expected,
                elapsed: end - start,
                workers: workers,
                publisher: publisher,
                loop: loop,
                cpu: (cpuStart, cpuEnd)
            )
            if let allocationsStart, let allocationsEnd, step.deliveries > 0 {
                step.serverAllocationsPerDelivery = round2(
                    Double(allocationsEnd - allocationsStart) / Double(step.deliveries)
                )
            }
            Report.step(step)
            steps.append(step)
            if let stop = stopP99Ms, step.latencyMs.p99 > stop { break }
        }
        return steps
    }

    /// Every message is due once at every connection whose path carries its channel.
    private func expectedDeliveries(_ published: [Int], layout: Layout) -> Int {
        var expected = 0
        for subscriber in 0..<subscription.subscribers {
            let (channel, group) = layout.channels(ofSubscriber: subscriber)
            for pattern in subscription.patterns(ofSubscriber: subscriber) {
                if pattern.mentionsChannel { expected += published[channel] }
                if let group, pattern.mentionsGroup { expected += published[group] }
                if !pattern.mentionsChannel && !pattern.mentionsGroup { expected += published[channel] }
            }
        }
        return expected
    }

    /// Waits until every expected delivery arrived, or deliveries stopped for 3 s (at most 30 s). Returns
    /// the time of the last progress.
    private func drain(
        expected: Int,
        workers: [WorkerProcess],
        publisher: NIOLoopBound<Publisher>,
        loop: any EventLoop
    ) -> Double {
        var last = -1
        var lastChange = Clock.seconds()
        let deadline = Clock.seconds() + 30
        while Clock.seconds() < deadline {
            let delivered = workers.reduce(0) { $0 + $1.progress.withLockedValue { $0.0 } }
            if delivered >= expected { return Clock.seconds() }
            if delivered != last {
                last = delivered
                lastChange = Clock.seconds()
            } else if Clock.seconds() - lastChange > 3 {
                return lastChange
            }
            Thread.sleep(forTimeInterval: 0.05)
        }
        return Clock.seconds()
    }

    private func collect(
        rate: Double,
        publishedInStep: [Int],
        expected: Int,
        elapsed: Double,
        workers: [WorkerProcess],
        publisher: NIOLoopBound<Publisher>,
        loop: any EventLoop,
        cpu: (ServerProbe.Sample?, ServerProbe.Sample?)
    ) throws -> StepResult {
        var latency = Histogram<UInt64>(
            lowestDiscernibleValue: 1,
            highestTrackableValue: 600_000_000,
            numberOfSignificantValueDigits: .three
        )
        var unique = 0
        var duplicates = 0
        var unexpected = 0
        for worker in workers {
            worker.send("REPORT")
            guard let line = worker.waitFor("REPORT ", timeout: 60) else {
                throw ValidationError("a worker did not report")
            }
            let report = try JSONDecoder().decode(WorkerReport.self, from: Data(line.dropFirst("REPORT ".count).utf8))
            latency.add(report.latency)
            unique += report.unique
            duplicates += report.duplicates
            unexpected += report.unexpected
        }
        let published = publishedInStep.reduce(0, +)
        let errors = try loop.submit { publisher.value.errors }.wait()
        var cpuSeconds: Double?
        if let start = cpu.0, let end = cpu.1 { cpuSeconds = end.cpuSeconds - start.cpuSeconds }
        return StepResult(
            rateTarget: rate,
            publishes: published,
            publishRate: round2(Double(published) / stepSeconds),
            publishErrors: errors,
            deliveries: unique,
            deliveriesPerSecond: round2(Double(unique) / max(elapsed, 0.001)),
            lost: max(0, expected - unique),
            duplicates: duplicates,
            unexpected: unexpected,
            latencyMs: .init(latency),
            serverCPUSeconds: cpuSeconds.map(round2),
            serverCPUMicrosecondsPerDelivery: cpuSeconds.map { round2($0 * 1e6 / Double(max(unique, 1))) },
            serverRSSBytes: cpu.1?.rssBytes
        )
    }
}

extension RunCommand {
    /// The server's allocation count so far, when it runs with the counting preload.
    func readAllocationCount() -> Int? {
        guard let mallocCountFile, let text = try? String(contentsOfFile: mallocCountFile, encoding: .utf8) else {
            return nil
        }
        return Int(text.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

func round2(_ value: Double) -> Double { (value * 100).rounded() / 100 }
