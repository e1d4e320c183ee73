import Foundation
import Histogram

/// One rate step of a STOMP benchmark, as printed and written to JSON.
struct STOMPStepResult: Codable {
    typealias Percentiles = StepResult.Percentiles

    var rateTarget: Double
    var sendRate: Double
    var deliveriesPerSecond: Double
    var sent: Int
    var delivered: Int
    var lost: Int
    var duplicates: Int
    var latencyMs: Percentiles
    var receiptMs: Percentiles?
    var serverCPUSeconds: Double?
    /// Server CPU per delivered message, in microseconds.
    var serverCPUMicrosecondsPerDelivery: Double?
    /// Server CPU as a share of one core during the step.
    var serverCPUPercent: Double?
    var serverRSSBytes: Int?
    var errors: [String]

    init(
        rateTarget: Double,
        seconds: Double,
        sent: Int,
        numbers: STOMPBenchRun.StepNumbers,
        expected: Int,
        errors: [String],
        serverCPUSeconds: Double?,
        serverRSSBytes: Int?
    ) {
        self.rateTarget = rateTarget
        self.sendRate = Double(sent) / seconds
        self.deliveriesPerSecond = Double(numbers.unique) / seconds
        self.sent = sent
        self.delivered = numbers.unique
        self.lost = max(0, expected - numbers.unique)
        self.duplicates = numbers.duplicates
        self.latencyMs = Percentiles(numbers.latency)
        self.receiptMs = numbers.receipts > 0 ? Percentiles(numbers.receiptLatency) : nil
        self.serverCPUSeconds = serverCPUSeconds
        self.serverCPUMicrosecondsPerDelivery = serverCPUSeconds.map {
            numbers.unique > 0 ? $0 * 1e6 / Double(numbers.unique) : 0
        }
        self.serverCPUPercent = serverCPUSeconds.map { $0 * 100 / seconds }
        self.serverRSSBytes = serverRSSBytes
        self.errors = errors
    }

    static var header: String {
        pad([
            "rate", "sent/s", "deliv/s", "p50 ms", "p99 ms", "p99.9 ms", "rcpt p50", "rcpt p99", "lost", "dup", "cpu %",
            "µs/deliv",
        ])
    }

    var row: String {
        Self.pad([
            Self.fmt(rateTarget), Self.fmt(sendRate), Self.fmt(deliveriesPerSecond), Self.fmt(latencyMs.p50),
            Self.fmt(latencyMs.p99), Self.fmt(latencyMs.p999), receiptMs.map { Self.fmt($0.p50) } ?? "-",
            receiptMs.map { Self.fmt($0.p99) } ?? "-", String(lost), String(duplicates),
            serverCPUPercent.map(Self.fmt) ?? "-", serverCPUMicrosecondsPerDelivery.map(Self.fmt) ?? "-",
        ]) + (errors.isEmpty ? "" : "  errors: \(errors.joined(separator: "; "))")
    }

    private static func fmt(_ value: Double) -> String {
        value >= 100 ? String(Int(value.rounded())) : String(format: "%.2f", value)
    }

    private static func pad(_ columns: [String]) -> String {
        columns.map { $0.count >= 9 ? $0 : String(repeating: " ", count: 9 - $0.count) + $0 }.joined(separator: " ")
    }
}

/// A whole STOMP benchmark run.
struct STOMPRunResult: Codable {
    var label: String
    var scenario: String
    var destination: String
    var producers: Int
    var consumers: Int
    var size: Int
    var steps: [STOMPStepResult]
}
