import Foundation

/// The human-readable output: a line per phase, a progress line while a step runs, a table row per step.
enum Report {
    static func connected(_ result: RunResult) {
        Output.line(
            "connected \(result.connections) connections (\(result.failedConnections) failed) in \(result.connect.seconds) s "
                + "(\(Int(result.connect.perSecond))/s)"
                + (result.serverRSSBeforeBytes.map { ", server RSS before \($0 / 1024) KiB" } ?? "")
        )
    }

    static func idle(_ idle: RunResult.Idle) {
        Output.line(
            "idle \(idle.seconds) s: server CPU \(idle.serverCPUPercent)%, RSS \(idle.serverRSSBytes / 1024) KiB, "
                + "\(Int(idle.rssPerConnectionBytes)) bytes per connection"
        )
    }

    static func header() {
        Output.line(
            pad([
                "rate", "pub/s", "deliv/s", "p50 ms", "p90 ms", "p99 ms", "p99.9 ms", "max ms", "lost", "dup", "cpu s",
                "µs/deliv", "allocs/dl",
            ])
        )
    }

    static func progress(seconds: Double, published: Int, delivered: Int) {
        FileHandle.standardError.write(
            Data(String(format: "\r  %5.1f s  published %d  delivered %d    ", seconds, published, delivered).utf8)
        )
    }

    static func step(_ step: StepResult) {
        FileHandle.standardError.write(Data("\r".utf8))
        let latency = step.latencyMs
        Output.line(
            pad([
                fmt(step.rateTarget), fmt(step.publishRate), fmt(step.deliveriesPerSecond), fmt(latency.p50),
                fmt(latency.p90),
                fmt(latency.p99), fmt(latency.p999), fmt(latency.max), String(step.lost), String(step.duplicates),
                step.serverCPUSeconds.map(fmt) ?? "-", step.serverCPUMicrosecondsPerDelivery.map(fmt) ?? "-",
                step.serverAllocationsPerDelivery.map(fmt) ?? "-",
            ])
        )
    }

    private static func fmt(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.2f", value)
    }

    private static func pad(_ columns: [String]) -> String {
        columns.map { $0.count >= 10 ? $0 : String(repeating: " ", count: 10 - $0.count) + $0 }.joined(separator: " ")
    }
}
