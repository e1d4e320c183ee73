import ArgumentParser
import Foundation
import Histogram
import NIOCore
import NIOPosix

/// `switchboard-bench stomp`: STOMP producers and consumers against a broker (Switchboard, RabbitMQ, ...),
/// stepped send rates, delivery rate, latency, receipt round trips, loss and server cost.
struct STOMPCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stomp",
        abstract: "Benchmark a STOMP broker: topic fan-out, queue, queue with acks and receipts."
    )

    @Option(help: "The broker, HOST:PORT.")
    var broker = "127.0.0.1:61613"

    @Option(
        help:
            "topic (producers -> one topic -> every consumer), queue (auto ack), queue-ack (receipts + client-individual acks)."
    )
    var scenario: String = "topic"

    @Option(help: "The destination (default /topic/bench or /queue/bench-RANDOM).")
    var destination: String?

    @Option(help: "Producing connections.")
    var producers = 1

    @Option(help: "Consuming connections.")
    var consumers = 1

    @Option(help: "Send rates (messages/s over all producers), one step each; 0 = as fast as the socket takes.")
    var rates: String = "1000"

    @Option(help: "Seconds per rate step.")
    var stepSeconds: Double = 10

    @Option(help: "Stop after a step whose p99 delivery latency is over this many milliseconds.")
    var stopP99Ms: Double?

    @Option(help: "Message body size in bytes.")
    var size = 64

    @Option(help: "CONNECT login and passcode, LOGIN:PASSCODE (RabbitMQ: guest:guest).")
    var user: String?

    @Option(help: "CONNECT host header (RabbitMQ's virtual host, e.g. /).")
    var vhost = "/"

    @Option(help: "prefetch-count of the queue-ack consumers.")
    var prefetch = 1000

    @Option(help: "The broker's pid, for its CPU time and RSS.")
    var serverPid: Int32?

    @Option(help: "A name for this run.")
    var label = "stomp"

    @Option(help: "Write the results to this JSON file.")
    var json: String?

    func run() throws {
        guard let scenario = STOMPBenchRun.Scenario(rawValue: scenario) else {
            throw ValidationError("--scenario is one of \(STOMPBenchRun.Scenario.allCases.map(\.rawValue))")
        }
        let parts = broker.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--broker is HOST:PORT") }
        let stepRates = rates.split(separator: ",").compactMap { Double($0) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let loop = group.next()
        let credentials = user?.split(separator: ":", maxSplits: 1).map(String.init)
        let settings = STOMPBenchRun.Settings(
            scenario: scenario,
            destination: destination
                ?? (scenario == .topic ? "/topic/bench" : "/queue/bench-\(UInt32.random(in: 0...UInt32.max))"),
            producers: producers,
            consumers: consumers,
            size: size,
            login: credentials?.first,
            passcode: credentials?.dropFirst().first,
            vhost: vhost,
            prefetch: prefetch
        )
        let run = try loop.submit { STOMPBenchRun(settings: settings, eventLoop: loop) }.wait()

        // Consumers first, so nothing a producer sends is missed.
        let roles =
            (0..<consumers).map { STOMPBenchConnection.Role.consumer($0) }
            + (0..<producers).map { STOMPBenchConnection.Role.producer($0) }
        for role in roles {
            let handler = try loop.submit { run.makeConnection(role) }.wait()
            _ = try ClientBootstrap(group: loop)
                .channelOption(.socketOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                }
                .connect(host: String(parts[0]), port: port).wait()
        }
        try run.readyFuture.wait()
        Output.line(
            "\(label): \(producers) producer(s), \(consumers) consumer(s), \(scenario.rawValue) \(settings.destination)"
        )
        Output.line(STOMPStepResult.header)

        let probe = serverPid.map(ServerProbe.init)
        var results: [STOMPStepResult] = []
        for rate in stepRates {
            let result = try runStep(rate: rate, run: run, loop: loop, probe: probe)
            results.append(result)
            Output.line(result.row)
            if let stop = stopP99Ms, result.latencyMs.p99 > stop || !result.errors.isEmpty { break }
        }
        try loop.submit { run.isFinished = true }.wait()
        if let json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = STOMPRunResult(
                label: label,
                scenario: scenario.rawValue,
                destination: settings.destination,
                producers: producers,
                consumers: consumers,
                size: size,
                steps: results
            )
            try encoder.encode(report).write(to: URL(fileURLWithPath: json))
        }
    }

    private func runStep(
        rate: Double,
        run: STOMPBenchRun,
        loop: any EventLoop,
        probe: ServerProbe?
    ) throws -> STOMPStepResult {
        try loop.submit { run.resetNumbers() }.wait()
        let before = probe?.sample()
        let start = Clock.nanos()
        let producers = self.producers
        let perProducer = rate / Double(producers)
        // Sends what is due every millisecond (or, at rate 0, whatever the sockets take).
        let ticker = try loop.submit {
            loop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { _ in
                run.sendDue(perProducer: perProducer, elapsed: Double(Clock.nanos() - start) / 1e9)
            }
        }.wait()
        Thread.sleep(forTimeInterval: stepSeconds)
        let (sent, sendSeconds) = try loop.submit { () -> (Int, Double) in
            ticker.cancel()
            return (run.numbers.sent, Double(Clock.nanos() - start) / 1e9)
        }.wait()
        let afterSending = probe?.sample()
        // Drain: wait until everything arrived, or nothing more arrives for two seconds.
        var lastUnique = -1
        var quietSince = Clock.seconds()
        while true {
            let (unique, expected) = try loop.submit { (run.numbers.unique, run.expectedDeliveries) }.wait()
            if unique >= expected { break }
            if unique != lastUnique {
                lastUnique = unique
                quietSince = Clock.seconds()
            } else if Clock.seconds() - quietSince > 2 {
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        let after = probe?.sample()
        let numbers = try loop.submit { run.numbers }.wait()
        let expected = run.settings.scenario == .topic ? sent * consumers : sent
        _ = afterSending
        return STOMPStepResult(
            rateTarget: rate,
            seconds: sendSeconds,
            sent: sent,
            numbers: numbers,
            expected: expected,
            errors: try loop.submit { run.errors }.wait(),
            serverCPUSeconds: zip(before, after).map { $1.cpuSeconds - $0.cpuSeconds },
            serverRSSBytes: after?.rssBytes
        )
    }
}

private func zip<A, B>(_ a: A?, _ b: B?) -> (A, B)? {
    guard let a, let b else { return nil }
    return (a, b)
}
