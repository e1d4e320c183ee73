import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// Carries a ``NativeConnection`` on a channel: behind the ``WebSocketConnectionHandler`` (every WebSocket
/// message is a command; output goes out as text frames), or as the SSE fallback's stream (the first
/// event names the session that `POST /connection/send` commands go to; this handler keeps the stream
/// alive itself, as there is no WebSocket transport in front).
final class NativeChannelHandler: ChannelInboundHandler, NativeTransport, KeepAliveParticipant {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let service: HTTPService
    private let native: NativeFrontEnd
    let framing: NativeFraming
    private var context: ChannelHandlerContext?
    private var connection: NativeConnection?
    /// The SSE fallback's session id.
    private var sessionID: String?

    init(service: HTTPService, native: NativeFrontEnd, framing: NativeFraming) {
        precondition(framing != .longPoll, "long-polls are carried by NativeLongPollSession")
        self.service = service
        self.native = native
        self.framing = framing
    }

    /// The handshake's claim (`/connection/websocket`): JSON commands down the pipeline to this handler,
    /// which its SSE fallback shares; pings on.
    static func webSocketUpgrade(service: HTTPService, native: NativeFrontEnd) -> WebSocketUpgrade {
        WebSocketUpgrade(subprotocol: nil) { channel in
            [
                WebSocketUpgrade.sink(nil, service: service, pings: true, on: channel),
                NativeChannelHandler(service: service, native: native, framing: .webSocket),
            ]
        }
    }

    /// The SSE fallback (`/connection/sse`): replies and pushes as Server-Sent Events on a chunked
    /// response, commands by `POST /connection/send`.
    static func sseAnswer(service: HTTPService, native: NativeFrontEnd) -> FrontEndAnswer {
        let headers: HTTPHeaders = [
            "Content-Type": "text/event-stream; charset=utf-8",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
            "X-Accel-Buffering": "no",
            "Access-Control-Allow-Origin": "*",
        ]
        return .stream(headers, NativeChannelHandler(service: service, native: native, framing: .sse))
    }

    // MARK: Lifecycle

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let connection = NativeConnection(
            service: service,
            native: native,
            transport: self,
            eventLoop: context.eventLoop
        )
        self.connection = connection
        if framing == .sse {
            let id = RandomID.make(length: 32)
            sessionID = id
            native.sessions.add(connection, id: id)
            service.keepAliveTimer(on: context.eventLoop).add(self)
            connection.writeSessionPush(id)
            context.flush()
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        tearDown(context: context)
    }

    func channelInactive(context: ChannelHandlerContext) {
        tearDown(context: context)
        context.fireChannelInactive()
    }

    private func tearDown(context: ChannelHandlerContext) {
        guard self.context != nil else { return }
        self.context = nil
        if let sessionID {
            native.sessions.remove(id: sessionID)
            service.keepAliveTimer(on: context.eventLoop).remove(self)
        }
        connection?.end()
        connection = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            connection?.shutdown()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // On the SSE fallback the stream's own connection carries nothing from the client.
        guard framing == .webSocket, let connection else { return }
        connection.receiveCommand(unwrapInboundIn(data))
        connection.flush()
    }

    // MARK: NativeTransport

    var allocator: ByteBufferAllocator { context?.channel.allocator ?? service.allocator }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func write(_ framed: ByteBuffer) {
        context?.write(wrapOutboundOut(framed), promise: nil)
    }

    func flush() {
        context?.flush()
    }

    func close(code: UInt16, reason: String) {
        guard let context else { return }
        switch framing {
        case .webSocket:
            // The WebSocket transport in front sends the close frame and waits for the client's.
            context.flush()
            context.triggerUserOutboundEvent(WebSocketCloseRequest(code: code, reason: reason), promise: nil)
        case .sse, .longPoll:
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(staticString: ChunkedEncoding.lastChunk))).whenComplete {
                _ in channel.close(promise: nil)
            }
            context.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
        }
    }

    /// SSE fallback keep-alive: a comment every ping interval.
    func keepAliveTick() {
        guard let context, connection?.closing == false, framing == .sse else { return }
        var buffer = context.channel.allocator.buffer(capacity: 24)
        ChunkedEncoding.writeChunk(into: &buffer) { $0.writeStaticString(": ping\n\n") }
        context.writeAndFlush(wrapOutboundOut(buffer), promise: nil)
    }
}
