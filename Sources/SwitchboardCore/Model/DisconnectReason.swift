/// Why the server ends a subscriber: the wire-visible codes of every front end, in one place.
///
/// The codes themselves are in ``WebSocketCloseCode``, the table of every code the server sends.
public enum DisconnectReason: Sendable, Equatable {
    /// The channel was deleted by `DELETE /pub/{channel}`.
    case channelDeleted
    /// The subscriber's outbound queue went over `limits.max_outbound_bytes`; it may resume from its last id.
    case slowConsumer
    /// A WebSocket subscriber without in-band metadata asked for a position that can't be served.
    case positionTooOld
    /// The server is shutting down.
    case shutdown
    /// The client sent something it may not (e.g. published where that is not allowed).
    case policyViolation
    /// The connection's token expired and no `refresh` came with a new one.
    case tokenExpired
    /// The connection did not connect (native `connect`) in time.
    case connectTimeout

    /// The WebSocket close code for this reason.
    public var webSocketCloseCode: UInt16 {
        switch self {
        case .channelDeleted: return WebSocketCloseCode.channelDeleted
        case .slowConsumer: return WebSocketCloseCode.slowConsumer
        case .positionTooOld: return WebSocketCloseCode.positionTooOld
        case .shutdown: return WebSocketCloseCode.goingAway
        case .policyViolation: return WebSocketCloseCode.policyViolation
        case .tokenExpired: return WebSocketCloseCode.tokenExpired
        case .connectTimeout: return WebSocketCloseCode.connectTimeout
        }
    }

    /// A short reason, used as the WebSocket close reason and the SSE `reason` field.
    public var text: String {
        switch self {
        case .channelDeleted: return "channel deleted"
        case .slowConsumer: return "slow consumer"
        case .positionTooOld: return "position too old"
        case .shutdown: return "server shutting down"
        case .policyViolation: return "policy violation"
        case .tokenExpired: return "token expired"
        case .connectTimeout: return "connect timeout"
        }
    }

    /// The machine-readable token used in JSON bodies.
    public var token: String {
        switch self {
        case .channelDeleted: return "channel-deleted"
        case .slowConsumer: return "slow-consumer"
        case .positionTooOld: return "position-too-old"
        case .shutdown: return "shutdown"
        case .policyViolation: return "policy-violation"
        case .tokenExpired: return "token-expired"
        case .connectTimeout: return "connect-timeout"
        }
    }
}
