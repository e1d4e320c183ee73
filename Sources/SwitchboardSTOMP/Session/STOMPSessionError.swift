public import SwitchboardCore

/// A protocol error: the session answers it with an `ERROR` frame (a short `message`, an explaining body)
/// and closes the connection, as STOMP requires.
public enum STOMPSessionError: Error, Equatable, Sendable {
    case notConnected(command: String)
    case alreadyConnected
    case unsupportedVersion(offered: String)
    case accessRefused
    case permissionDenied(command: String, reason: String)
    case connectTimeout(seconds: Double)
    case transactionBytesExceeded(String, limit: Int)
    case refused(HubRefusal)
    case unknownCommand(String)
    case missingHeader(command: String, header: String)
    case invalidHeader(command: String, header: String, value: String, expected: String)
    case badDestination(String, String)
    case duplicateSubscription(String)
    case unknownSubscription(String)
    case tooManySubscriptions(limit: Int)
    case unknownAckID(String)
    case duplicateTransaction(String)
    case unknownTransaction(String)
    case tooManyTransactions(limit: Int)
    case transactionTooLarge(String, limit: Int)
    case queueFull(String, String)
    case tooManyQueues(limit: Int)
    case temporaryQueueNotOwned(String)
    case decoding(STOMPDecodingError)
    case heartBeatTimeout(milliseconds: Int)
    case slowConsumer
    case shutdown

    /// The `message` header.
    public var message: String {
        switch self {
        case .notConnected: return "not connected"
        case .alreadyConnected: return "already connected"
        case .unsupportedVersion: return "unsupported version"
        case .accessRefused: return "access refused"
        case .permissionDenied: return "permission denied"
        case .connectTimeout: return "connect timeout"
        case .transactionBytesExceeded: return "transaction too large"
        case .refused(.memoryFull): return "memory full"
        case .refused(.tooManyChannels): return "too many channels"
        case .refused(.engineUnavailable): return "engine unavailable"
        case .unknownCommand: return "unknown command"
        case .missingHeader(_, let header): return "missing header: \(header)"
        case .invalidHeader(_, let header, _, _): return "invalid header: \(header)"
        case .badDestination: return "invalid destination"
        case .duplicateSubscription: return "duplicate subscription id"
        case .unknownSubscription: return "unknown subscription"
        case .tooManySubscriptions: return "too many subscriptions"
        case .unknownAckID: return "unknown ack id"
        case .duplicateTransaction: return "duplicate transaction"
        case .unknownTransaction: return "unknown transaction"
        case .tooManyTransactions: return "too many transactions"
        case .transactionTooLarge: return "transaction too large"
        case .queueFull: return "queue full"
        case .tooManyQueues: return "too many queues"
        case .temporaryQueueNotOwned: return "access refused"
        case .decoding(let error): return error.message
        case .heartBeatTimeout: return "heart-beat timeout"
        case .slowConsumer: return "slow consumer"
        case .shutdown: return "server shutting down"
        }
    }

    /// The body: what was wrong, in a sentence or two.
    public var detail: String {
        switch self {
        case .notConnected(let command):
            return "The first frame must be CONNECT or STOMP; got \(command.prefix(40))."
        case .alreadyConnected:
            return "The connection is already connected; CONNECT may only be sent once."
        case .unsupportedVersion(let offered):
            return "None of the versions offered in accept-version (\(offered.prefix(60))) is supported; "
                + "this server speaks 1.0, 1.1 and 1.2."
        case .accessRefused:
            return "The login and passcode do not match a configured user ([[stomp.user]])."
        case .permissionDenied(let command, let reason):
            return "\(command) refused: \(reason)."
        case .connectTimeout(let seconds):
            return "No CONNECT frame came within \(seconds) seconds of connecting (stomp.connect_timeout)."
        case .transactionBytesExceeded(let id, let limit):
            return
                "Transaction '\(id.prefix(60))' holds more than \(limit) bytes of frames (stomp.max_transaction_bytes)."
        case .refused(let refusal):
            return "The message was not stored: \(refusal.message)."
        case .unknownCommand(let command):
            return "'\(command.prefix(40))' is not a STOMP client frame (CONNECT, STOMP, SEND, SUBSCRIBE, "
                + "UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT, DISCONNECT)."
        case .missingHeader(let command, let header):
            return "\(command) needs the '\(header)' header."
        case .invalidHeader(let command, let header, let value, let expected):
            return "\(command): the '\(header)' header '\(value.prefix(60))' is invalid; expected \(expected)."
        case .badDestination(let destination, let why):
            return "'\(destination.prefix(80))' is not a destination here. \(why)"
        case .duplicateSubscription(let id):
            return "A subscription with id '\(id.prefix(60))' already exists on this connection."
        case .unknownSubscription(let id):
            return "There is no subscription with id '\(id.prefix(60))' on this connection."
        case .tooManySubscriptions(let limit):
            return "A connection may hold at most \(limit) subscriptions (stomp.max_subscriptions)."
        case .unknownAckID(let id):
            return "'\(id.prefix(60))' is not the ack id of a message delivered on this connection."
        case .duplicateTransaction(let id):
            return "Transaction '\(id.prefix(60))' has already begun."
        case .unknownTransaction(let id):
            return "There is no open transaction '\(id.prefix(60))'."
        case .tooManyTransactions(let limit):
            return "A connection may have at most \(limit) open transactions."
        case .transactionTooLarge(let id, let limit):
            return "Transaction '\(id.prefix(60))' holds more than \(limit) frames (stomp.max_transaction_frames)."
        case .queueFull(let queue, let why):
            return "The message was not stored: queue '\(queue.prefix(80))' \(why)"
        case .tooManyQueues(let limit):
            return "The message was not stored: the broker already has \(limit) queues (stomp.max_queues)."
        case .temporaryQueueNotOwned(let queue):
            return "Queue '\(queue.prefix(80))' is another connection's temporary queue: only its owner may "
                + "subscribe to it."
        case .decoding(let error):
            return error.detail
        case .heartBeatTimeout(let milliseconds):
            return "Nothing was received for \(milliseconds) ms, twice the negotiated heart-beat interval."
        case .slowConsumer:
            return "The connection fell too far behind in reading its messages (limits.max_outbound_bytes); "
                + "reconnect and resume with the last-event-id header."
        case .shutdown:
            return "The server is shutting down."
        }
    }
}
