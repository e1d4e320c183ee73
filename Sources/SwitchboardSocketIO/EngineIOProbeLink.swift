import NIOCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// A WebSocket opened for an existing polling session (`transport=websocket&sid=...`), the upgrade
/// probe: its messages go to the session, which may live on another event loop — they hop there, in
/// order. (A session born on a WebSocket is that WebSocket's sink itself.)
final class EngineIOProbeLink: WebSocketMessageSink {
    private let server: EngineIOServer
    private let sid: String

    init(server: EngineIOServer, sid: String) {
        self.server = server
        self.sid = sid
    }

    func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext) {
        let channel = context.channel
        let found = server.withSession(sid) { $0.attachProbe(channel) }
        if !found { channel.close(promise: nil) }
    }

    func received(_ message: WebSocketMessage, on channel: any Channel) {
        _ = server.withSession(sid) { $0.webSocketMessage(message, from: channel) }
    }

    func detached(from channel: any Channel) {
        _ = server.withSession(sid) { $0.webSocketClosed(channel) }
    }

    func shutdown(_ channel: any Channel) {}
}
