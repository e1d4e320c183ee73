import Histogram

/// The measurements of one publish-rate step.
struct StepResult: Codable {
    var rateTarget: Double
    var publishes: Int
    var publishRate: Double
    var publishErrors: Int
    var deliveries: Int
    var deliveriesPerSecond: Double
    var lost: Int
    var duplicates: Int
    var unexpected: Int
    var latencyMs: Percentiles
    var serverCPUSeconds: Double?
    var serverCPUMicrosecondsPerDelivery: Double?
    var serverRSSBytes: Int?
    /// Server allocations (malloc & co.) per delivered message, when measured.
    var serverAllocationsPerDelivery: Double?

    struct Percentiles: Codable {
        var p50: Double
        var p90: Double
        var p99: Double
        var p999: Double
        var max: Double

        /// The percentiles of a histogram of microseconds, in milliseconds (`divisor` 1000) or as they are (1).
        init(_ histogram: Histogram<UInt64>, divisor: Double = 1000) {
            func ms(_ value: UInt64) -> Double { (Double(value) / divisor * 100).rounded() / 100 }
            p50 = ms(histogram.valueAtPercentile(50))
            p90 = ms(histogram.valueAtPercentile(90))
            p99 = ms(histogram.valueAtPercentile(99))
            p999 = ms(histogram.valueAtPercentile(99.9))
            max = ms(histogram.max)
        }
    }

    enum CodingKeys: String, CodingKey {
        case rateTarget = "rate_target"
        case publishes
        case publishRate = "publish_rate"
        case publishErrors = "publish_errors"
        case deliveries
        case deliveriesPerSecond = "deliveries_per_second"
        case lost, duplicates, unexpected
        case latencyMs = "latency_ms"
        case serverCPUSeconds = "server_cpu_seconds"
        case serverCPUMicrosecondsPerDelivery = "server_cpu_us_per_delivery"
        case serverRSSBytes = "server_rss_bytes"
        case serverAllocationsPerDelivery = "server_allocations_per_delivery"
    }
}

/// The whole run, as written with `--json`.
struct RunResult: Codable {
    var label: String
    var transport: String
    var subscribers: Int
    var connections: Int
    var failedConnections: Int
    var connect: Connect
    var serverRSSBeforeBytes: Int?
    var idle: Idle?
    var steps: [StepResult] = []

    struct Connect: Codable {
        var seconds: Double
        var perSecond: Double
        enum CodingKeys: String, CodingKey {
            case seconds
            case perSecond = "per_second"
        }
    }

    struct Idle: Codable {
        var seconds: Double
        var serverCPUPercent: Double
        var serverRSSBytes: Int
        var rssPerConnectionBytes: Double
        enum CodingKeys: String, CodingKey {
            case seconds
            case serverCPUPercent = "server_cpu_percent"
            case serverRSSBytes = "server_rss_bytes"
            case rssPerConnectionBytes = "rss_per_connection_bytes"
        }
    }

    enum CodingKeys: String, CodingKey {
        case label, transport, subscribers, connections
        case failedConnections = "failed_connections"
        case connect
        case serverRSSBeforeBytes = "server_rss_before_bytes"
        case idle, steps
    }
}
