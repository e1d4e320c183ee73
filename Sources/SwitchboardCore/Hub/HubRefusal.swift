/// Why the hub refused a publish or a subscription: a server-wide limit. Every front end answers it in
/// its own way (HTTP `507`, STOMP `ERROR`, native error codes 118/119, a Socket.IO `{"ok": false}`).
public enum HubRefusal: Error, Sendable, Equatable {
    /// The message would take the retained bytes over `limits.max_memory`.
    case memoryFull(limit: Int)
    /// The channel does not exist and `limits.max_channels` exist already.
    case tooManyChannels(limit: Int)
    /// The shared engine (Redis) cannot be reached: nothing was published or subscribed. `reason` says why.
    case engineUnavailable(reason: String)

    /// The machine-readable code (JSON error bodies).
    public var code: String {
        switch self {
        case .memoryFull: "memory_full"
        case .tooManyChannels: "too_many_channels"
        case .engineUnavailable: "engine_unavailable"
        }
    }

    /// A sentence that says what happened and which option decides it.
    public var message: String {
        switch self {
        case .memoryFull(let limit):
            "the server holds as many retained messages as it may (limits.max_memory = \(limit) bytes); try again later"
        case .tooManyChannels(let limit):
            "the server has as many channels as it may (limits.max_channels = \(limit)); this one was not created"
        case .engineUnavailable(let reason):
            "the shared engine is unavailable (\(reason)); nothing was done, try again shortly"
        }
    }
}
