/// Why the server ends a subscriber: the wire-visible codes of every front end, in one place.
///
/// WebSocket close codes 4000-4999 are reserved for applications (RFC 6455 §7.4.2).
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
        case .channelDeleted: return 4001
        case .slowConsumer: return 4002
        case .positionTooOld: return 4003
        case .shutdown: return 1001
        case .policyViolation: return 1008
        case .tokenExpired: return 4005
        case .connectTimeout: return 4006
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
