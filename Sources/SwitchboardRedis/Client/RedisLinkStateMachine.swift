/// The life of a client's link to one Redis: connect, be up, break, wait, reconnect — forever, until
/// shut down. A value with no I/O, clock or randomness: the client runs its actions and feeds it events
/// (`jitter` is a random number in 0..<1 drawn by the caller).
struct RedisLinkStateMachine<Connection> {
    struct Backoff {
        /// The first retry's delay, in milliseconds; each failure doubles it up to `maximum`.
        var initial: Int64 = 100
        var maximum: Int64 = 5_000

        /// The delay before retry `attempt` (1, 2, ...): "equal jitter" — half fixed, half random — so that
        /// many nodes that lost Redis together do not all return in the same millisecond, and none waits
        /// much less than the nominal delay.
        func delay(attempt: Int, jitter: Double) -> Int64 {
            let nominal = min(maximum, initial << Int64(min(attempt - 1, 20)))
            return nominal / 2 + Int64(Double(nominal / 2) * jitter)
        }
    }

    enum State {
        case idle
        case connecting(attempt: Int)
        /// Connected; `up` once the subscriptions are restored (at once when there are none).
        case connected(Connection, up: Bool)
        case waiting(attempt: Int)
        case shutdown
    }

    enum Action {
        case none
        case connect
        /// Subscribe again to every channel the client serves, on the new connection.
        case restoreSubscriptions(Connection)
        case announceUp
        /// Tell the owner the link is down, and retry after `milliseconds`.
        case announceDownAndRetry(RedisError, milliseconds: Int64)
        case retry(milliseconds: Int64)
        case close(Connection)
    }

    private(set) var state: State = .idle
    /// Whether the owner was told the link is down (and not yet that it is up again).
    private var announcedDown = false
    var backoff = Backoff()

    var connection: Connection? {
        if case .connected(let connection, _) = state { return connection }
        return nil
    }

    var isUp: Bool {
        if case .connected(_, up: true) = state { return true }
        return false
    }

    mutating func startRequested() -> Action {
        guard case .idle = state else { return .none }
        state = .connecting(attempt: 1)
        return .connect
    }

    mutating func connectSucceeded(_ connection: Connection, hasSubscriptions: Bool) -> Action {
        guard case .connecting = state else { return .close(connection) }
        state = .connected(connection, up: !hasSubscriptions)
        guard !hasSubscriptions else { return .restoreSubscriptions(connection) }
        announcedDown = false
        return .announceUp
    }

    mutating func subscriptionsRestored() -> Action {
        guard case .connected(let connection, up: false) = state else { return .none }
        state = .connected(connection, up: true)
        announcedDown = false
        return .announceUp
    }

    mutating func connectFailed(_ error: RedisError, jitter: Double) -> Action {
        guard case .connecting(let attempt) = state else { return .none }
        state = .waiting(attempt: attempt)
        let delay = backoff.delay(attempt: attempt, jitter: jitter)
        // The first failure is news (the link was up, or never came up); retries after it are not.
        guard !announcedDown else { return .retry(milliseconds: delay) }
        announcedDown = true
        return .announceDownAndRetry(error, milliseconds: delay)
    }

    mutating func connectionClosed(_ error: RedisError, jitter: Double) -> Action {
        guard case .connected = state else { return .none }
        // Reconnect at once the first time: a killed connection (CLIENT KILL, an idle timeout) usually
        // finds Redis right there, and every millisecond down is a publish refused.
        state = .waiting(attempt: 0)
        announcedDown = true
        return .announceDownAndRetry(error, milliseconds: 0)
    }

    mutating func retryTimerFired() -> Action {
        guard case .waiting(let attempt) = state else { return .none }
        state = .connecting(attempt: attempt + 1)
        return .connect
    }

    mutating func shutdownRequested() -> Action {
        let previous = state
        state = .shutdown
        if case .connected(let connection, _) = previous { return .close(connection) }
        return .none
    }
}
