import SwitchboardCore

/// What a WebSocket upgrade request asked for: which front end's sink (or protocol handler) goes behind the
/// shared ``WebSocketConnectionHandler`` once the handshake is answered.
enum WebSocketEndpoint {
    /// `/echo`, for the conformance suite.
    case echo
    /// `/sub/...`: a subscriber.
    case subscribe(SubscribeRequest)
    /// `/stomp`: STOMP over WebSocket.
    case stomp
    /// `/connection/websocket`: the native protocol.
    case native
    /// Engine.IO: a new session, or the upgrade of polling session `sid`.
    case engineIO(EngineIOServer, sid: String?)
    /// A bridge route: a WebSocket glued to a TCP connection.
    case bridge(BridgeSession)
}
