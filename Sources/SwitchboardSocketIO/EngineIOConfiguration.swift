import NIOCore
import SwitchboardHTTP

/// The Engine.IO settings announced in the `open` packet (`socketio.ping_interval`, `socketio.ping_timeout`,
/// `socketio.max_payload`).
struct EngineIOConfiguration: Sendable {
    var pingInterval: TimeAmount
    var pingTimeout: TimeAmount
    var maxPayload: Int
    /// Socket.IO's: how long a new connection gets to join a namespace.
    var connectTimeout: TimeAmount

    init(_ configuration: SocketIOConfiguration) {
        pingInterval = .milliseconds(Int64(configuration.pingInterval * 1000))
        pingTimeout = .milliseconds(Int64(configuration.pingTimeout * 1000))
        maxPayload = configuration.maxPayload
        connectTimeout = .milliseconds(Int64(configuration.connectTimeout * 1000))
    }

    var pingIntervalMilliseconds: Int { Int(pingInterval.nanoseconds / 1_000_000) }
    var pingTimeoutMilliseconds: Int { Int(pingTimeout.nanoseconds / 1_000_000) }
}
