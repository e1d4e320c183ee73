/// A token bucket over a connection's commands: `rate` commands per second on average, bursts up to
/// `rate`. A command over the rate is refused (error `rate_limited`, not run); `abuseLimit` refusals in a
/// row end the connection (close code 4008). A value with no clock: callers pass the time.
struct CommandRateLimiter: Sendable {
    enum Decision: Equatable {
        case allow
        case refuse
        case disconnect
    }

    let rate: Double
    let abuseLimit: Int
    private var tokens: Double
    private var last: Int64
    private var refusedInARow = 0

    /// `rate` commands per second (0 = no limit).
    init(rate: Double, abuseLimit: Int = 100, now: Int64) {
        self.rate = rate
        self.abuseLimit = abuseLimit
        self.tokens = rate
        self.last = now
    }

    /// Whether a command arriving at `now` (milliseconds) may run.
    mutating func admit(now: Int64) -> Decision {
        guard rate > 0 else { return .allow }
        if now > last {
            tokens = min(rate, tokens + Double(now - last) * rate / 1000)
            last = now
        }
        if tokens >= 1 {
            tokens -= 1
            refusedInARow = 0
            return .allow
        }
        refusedInARow += 1
        return refusedInARow >= abuseLimit ? .disconnect : .refuse
    }
}
