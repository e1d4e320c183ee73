/// Why a command to Redis did not succeed.
public struct RedisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The kind of failure.
    public enum Code: Sendable, Equatable {
        /// Redis answered with an error reply (`-ERR ...`, `-MOVED ...`, `-NOSCRIPT ...`).
        case reply
        /// There is no connection to Redis now (it is being re-established): nothing was sent.
        case unavailable
        /// The connection closed or broke before the reply came: the command may or may not have run.
        case connectionClosed
        /// The reply did not come in time; the connection was closed, as its later replies can no longer be
        /// matched to their commands.
        case timeout
        /// Redis sent something that is not RESP, or a reply nothing was waiting for.
        case protocolViolation
        /// The client was shut down.
        case shutdown
    }

    public let code: Code
    /// What happened, as a log line or an operator's `/healthz` shows it.
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// An error reply's first word ("ERR", "MOVED", "NOSCRIPT"), nil for other failures.
    public var replyPrefix: Substring? {
        guard code == .reply else { return nil }
        return message.split(separator: " ", maxSplits: 1).first
    }

    public var description: String {
        switch code {
        case .reply: return "Redis replied: \(message)"
        case .unavailable: return "Redis is unavailable: \(message)"
        case .connectionClosed: return "the connection to Redis closed: \(message)"
        case .timeout: return "Redis did not reply in time: \(message)"
        case .protocolViolation: return "Redis protocol violation: \(message)"
        case .shutdown: return "the Redis client is shut down"
        }
    }
}
