import DequeModule
import NIOCore

/// Matches what Redis sends on one connection to what is waiting for it.
///
/// Redis answers the commands of a connection in the order they were sent, so each sent command adds an
/// expectation at the back and each reply is for the front one. On a RESP3 connection, pub/sub is the
/// exception: subscribing answers with one `push` confirmation per channel (no ordinary reply), and
/// messages arrive as pushes at any time in between. A value type with no I/O and no clock; `Waiter` is
/// the promise in the handler and a plain value in tests.
struct RedisReplyRouter<Waiter> {
    /// What the front command waits for.
    private enum Expectation {
        case reply(Waiter, sentAt: NIODeadline)
        /// `kind` is the confirmation's push name ("ssubscribe"); `remaining` how many are still to come.
        case confirmations(kind: String, remaining: Int, Waiter, sentAt: NIODeadline)

        var sentAt: NIODeadline {
            switch self {
            case .reply(_, let sentAt), .confirmations(_, _, _, let sentAt): return sentAt
            }
        }
    }

    /// What to do with a received value.
    enum Action {
        /// Complete the front command with its reply.
        case succeed(Waiter, RESPValue)
        /// Fail the front command: Redis answered with an error.
        case fail(Waiter, RedisError)
        /// A pub/sub message (`message` / `smessage` / `pmessage`): channel and payload.
        case message(channel: String, payload: ByteBuffer)
        /// Redis ended a subscription nobody asked to end (a sharded channel's slot moved to another node).
        case unsubscribedByServer(channel: String)
        /// A push this client has no use for (client-side caching invalidations): dropped.
        case ignore
        /// Something no command waits for: Redis or the link is broken, and the connection must close.
        case protocolViolation(String)
    }

    private var expectations: Deque<Expectation> = []

    /// Whether any command waits for an answer.
    var isWaiting: Bool { !expectations.isEmpty }

    /// When the longest-waiting command was sent.
    var oldestSentAt: NIODeadline? { expectations.first?.sentAt }

    /// `command` was sent; `waiter` waits for its answer.
    mutating func commandSent(_ command: RESPCommand, waiter: Waiter, now: NIODeadline) {
        let name = command.name
        switch name {
        case "SUBSCRIBE", "SSUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "SUNSUBSCRIBE", "PUNSUBSCRIBE":
            // Without channels, an unsubscribe answers once per channel it drops — a count not known here.
            // The clients of this router always name the channels.
            precondition(command.arguments.count > 1, "\(name) without channels cannot be matched to its replies")
            expectations.append(
                .confirmations(kind: name.lowercased(), remaining: command.arguments.count - 1, waiter, sentAt: now)
            )
        default:
            expectations.append(.reply(waiter, sentAt: now))
        }
    }

    /// Redis sent `value`.
    mutating func valueReceived(_ value: RESPValue) -> Action {
        if case .push(let elements) = value { return pushReceived(elements, value: value) }
        switch expectations.popFirst() {
        case .reply(let waiter, _):
            if case .error(let message) = value { return .fail(waiter, RedisError(.reply, message)) }
            return .succeed(waiter, value)
        case .confirmations(let kind, _, let waiter, _):
            if case .error(let message) = value { return .fail(waiter, RedisError(.reply, message)) }
            return .protocolViolation("an ordinary reply came while \(kind) confirmations were expected")
        case nil:
            return .protocolViolation("a reply came that no command waits for")
        }
    }

    private mutating func pushReceived(_ elements: [RESPValue], value: RESPValue) -> Action {
        guard let kind = elements.first?.string else { return .protocolViolation("a push without a kind") }
        switch kind {
        case "message", "smessage", "pmessage":
            // [kind, channel, payload], or [pmessage, pattern, channel, payload].
            let offset = kind == "pmessage" ? 1 : 0
            guard elements.count == 3 + offset, let channel = elements[1 + offset].string,
                let payload = elements[2 + offset].bytes
            else { return .protocolViolation("a malformed \(kind) push") }
            return .message(channel: channel, payload: payload)
        case "subscribe", "ssubscribe", "psubscribe", "unsubscribe", "sunsubscribe", "punsubscribe":
            if case .confirmations(let expected, let remaining, let waiter, let sentAt) = expectations.first,
                expected == kind
            {
                if remaining > 1 {
                    expectations[expectations.startIndex] = .confirmations(
                        kind: kind,
                        remaining: remaining - 1,
                        waiter,
                        sentAt: sentAt
                    )
                    return .ignore
                }
                expectations.removeFirst()
                return .succeed(waiter, value)
            }
            if kind.hasSuffix("unsubscribe"), elements.count > 1, let channel = elements[1].string {
                return .unsubscribedByServer(channel: channel)
            }
            return .protocolViolation("an unexpected \(kind) confirmation")
        default:
            return .ignore
        }
    }

    /// The connection closed: every waiter, to be failed.
    mutating func connectionClosed() -> [Waiter] {
        defer { expectations.removeAll() }
        return expectations.map {
            switch $0 {
            case .reply(let waiter, _), .confirmations(_, _, let waiter, _): return waiter
            }
        }
    }
}
