import NIOCore
import SwitchboardCore

/// Carries an Engine.IO session on a WebSocket, behind a ``WebSocketTransportHandler`` (which answers
/// WebSocket pings and the closing handshake; Engine.IO has its own heartbeat). Opened without a sid it
/// starts a session on this channel's loop; with one it is the upgrade probe of a polling session, which
/// may live on another loop — messages then hop there, in order.
final class EngineIOChannelHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketMessage

    private let service: HTTPService
    private let server: EngineIOServer
    private let sid: String?
    private var session: EngineIOSession?
    private var channel: (any Channel)?

    init(service: HTTPService, server: EngineIOServer, sid: String?) {
        self.service = service
        self.server = server
        self.sid = sid
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let channel = context.channel
        self.channel = channel
        if let sid {
            let found = server.withSession(sid) { $0.attachProbe(channel) }
            if !found { channel.close(promise: nil) }
        } else {
            session = server.openSession(service: service, webSocket: channel, on: context.eventLoop)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let message = unwrapInboundIn(data)
        let channel = context.channel
        if let session {
            session.webSocketMessage(message, from: channel)
        } else if let sid {
            _ = server.withSession(sid) { $0.webSocketMessage(message, from: channel) }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        let channel = context.channel
        if let session {
            session.webSocketClosed(channel)
        } else if let sid {
            _ = server.withSession(sid) { $0.webSocketClosed(channel) }
        }
        session = nil
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent, let session {
            (session.application as? SocketIOConnection)?.shutdown()
            session.close(.serverShutdown)
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }
}
