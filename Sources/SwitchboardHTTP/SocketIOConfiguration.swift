public import SwitchboardCore

/// The Socket.IO endpoint's settings (the `[socketio]` section); every field has the documented default.
public struct SocketIOConfiguration: Sendable {
    /// Whether `/socket.io/` is served.
    public var enabled = true
    /// The namespaces clients may connect to; others get the reference `Invalid namespace` error.
    public var namespaces: [String] = ["/"]
    /// Seconds between the server's pings.
    public var pingInterval: Double = 25
    /// Seconds the client gets to answer a ping.
    public var pingTimeout: Double = 20
    /// Largest Engine.IO payload (a polling POST body, a WebSocket message), in bytes.
    public var maxPayload = 1_000_000
    /// Seconds a new connection gets to connect to a namespace before it is closed.
    public var connectTimeout: Double = 45
    /// Most binary attachments in one packet.
    public var maxAttachments = 10
    /// Seconds a disconnected socket's state is kept for connection state recovery; 0 = no recovery.
    public var recoveryWindow: Double = 0
    /// Where hooks are POSTed (connect, disconnect, and client events other than the built-in ones);
    /// nil = no hooks.
    public var hookURL: HTTPURL?
    /// The hooks in use: `connect`, `disconnect`, `event`.
    public var hooks: Set<String> = ["connect", "disconnect", "event"]
    /// Events one socket may have at the event hook at once; more are refused in their acknowledgement.
    public var maxConcurrentCalls = 8
    /// Answer like the reference test servers of the socket.io-protocol and engine.io-protocol suites:
    /// an Engine.IO echo at `/engine.io/`, an `auth` event on connect, `message` echoed as `message-back`
    /// and `message-with-ack` acknowledged with its arguments. For conformance tests only.
    public var conformance = false

    /// The defaults.
    public init() {}
}
