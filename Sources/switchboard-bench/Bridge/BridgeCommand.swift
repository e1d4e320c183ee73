import ArgumentParser
import DequeModule
import Foundation
import Histogram
import NIOCore
import NIOPosix

/// `switchboard-bench bridge`: measures a WebSocket-to-TCP bridge (Switchboard's, websockify) in front of
/// a TCP echo server — bulk throughput, added round-trip latency against the echo server reached
/// directly, and many connections at a steady message rate — with the bridge's CPU time.
struct BridgeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bridge",
        abstract: "Benchmark a WebSocket-to-TCP bridge in front of a TCP echo server."
    )

    enum Scenario: String, ExpressibleByArgument {
        /// Bulk both ways (an echo target), to the target (a sink), from the target (a source).
        case throughput, upload, download
        case latency, concurrent
    }

    @Option(help: "The bridge's WebSocket URL, e.g. ws://127.0.0.1:8000/tcp-echo.")
    var url: String

    @Option(help: "The echo server itself, HOST:PORT (for the latency baseline).")
    var direct: String?

    @Option(help: "throughput (echo target), upload (sink target), download (source target), latency or concurrent.")
    var scenario: Scenario = .throughput

    @Option(help: "Megabytes echoed (throughput).")
    var megabytes = 256

    @Option(help: "Round trips (latency).")
    var messages = 20_000

    @Option(help: "Connections (concurrent).")
    var connections = 1000

    @Option(help: "Messages per second per connection (concurrent).")
    var rate = 10.0

    @Option(help: "Seconds (concurrent).")
    var seconds = 10.0

    @Option(help: "Message size in bytes (latency, concurrent).")
    var size = 32

    @Option(help: "The bridge's pid, for its CPU time.")
    var serverPid: Int32?

    @Option(help: "A name for this run.")
    var label = "bridge"

    @Option(help: "Write the results to this JSON file.")
    var json: String?

    func run() throws {
        guard let pattern = URLPattern(url), pattern.scheme == .ws else {
            throw ValidationError("--url: expected ws://HOST:PORT/PATH")
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        defer { try? group.syncShutdownGracefully() }
        let probe = serverPid.map(ServerProbe.init)
        var result = BridgeResult(label: label, scenario: scenario.rawValue)
        let before = probe?.sample()
        switch scenario {
        case .throughput, .upload, .download:
            let direction: ThroughputRun.Direction =
                scenario == .upload ? .upload : scenario == .download ? .download : .echo
            let seconds = try BridgeRuns.throughput(
                pattern: pattern,
                bytes: megabytes << 20,
                direction: direction,
                on: group.next()
            )
            result.megabytesPerSecond = round2(Double(megabytes) / seconds)
            result.seconds = round2(seconds)
        case .latency:
            let bridged = try BridgeRuns.latency(
                pattern: pattern,
                direct: nil,
                messages: messages,
                size: size,
                on: group.next()
            )
            result.latencyMicroseconds = .init(bridged, divisor: 1)
            if let direct, let address = BridgeTarget(direct) {
                let straight = try BridgeRuns.latency(
                    pattern: pattern,
                    direct: address,
                    messages: messages,
                    size: size,
                    on: group.next()
                )
                result.directLatencyMicroseconds = .init(straight, divisor: 1)
            }
        case .concurrent:
            let (histogram, count) = try BridgeRuns.concurrent(
                pattern: pattern,
                connections: connections,
                rate: rate,
                seconds: seconds,
                size: size,
                on: group.next()
            )
            result.latencyMicroseconds = .init(histogram, divisor: 1)
            result.messagesPerSecond = round2(Double(count) / seconds)
            result.seconds = seconds
        }
        if let before, let after = probe?.sample() {
            let cpu = after.cpuSeconds - before.cpuSeconds
            result.serverCPUSeconds = round2(cpu)
            result.serverCPUPercent = round2(cpu / max(after.time - before.time, 0.001) * 100)
            if scenario == .throughput || scenario == .upload || scenario == .download {
                // An echo's bytes cross the bridge twice (to the echo server and back).
                let crossings = scenario == .throughput ? 2 : 1
                result.serverCPUSecondsPerGB = round2(cpu / (Double(megabytes * crossings) / 1024))
            }
            result.serverRSSBytes = after.rssBytes
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let text = String(decoding: try encoder.encode(result), as: UTF8.self)
        print(text)
        if let json { try text.write(toFile: json, atomically: true, encoding: .utf8) }
    }
}

/// `HOST:PORT` of a TCP target.
struct BridgeTarget {
    let host: String
    let port: Int

    init?(_ text: String) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            return nil
        }
        host = String(text[..<colon])
        self.port = port
    }
}

/// What one run measured (JSON, for bench/report_bridge.py).
struct BridgeResult: Codable {
    /// Round-trip percentiles in microseconds.
    typealias Latency = StepResult.Percentiles

    var label: String
    var scenario: String
    var seconds: Double?
    var megabytesPerSecond: Double?
    var messagesPerSecond: Double?
    var latencyMicroseconds: Latency?
    var directLatencyMicroseconds: Latency?
    var serverCPUSeconds: Double?
    var serverCPUPercent: Double?
    var serverCPUSecondsPerGB: Double?
    var serverRSSBytes: Int?
}
