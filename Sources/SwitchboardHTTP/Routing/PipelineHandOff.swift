import NIOCore
import NIOHTTP1
import SwitchboardWebSocket

/// Gives a connection that stops being request/response (a WebSocket, a stream) to the handlers that
/// take over: the HTTP handlers leave, so an idle WebSocket or stream holds no parser state. The read
/// deadlines leave too; the protocol that takes over has its own (pings, heart-beats).
enum PipelineHandOff {
    /// Answers the WebSocket handshake with what `upgrade` claims (`101`) and installs its handlers; the
    /// error to answer (and close with) when the request is not a valid handshake.
    static func webSocket(
        _ upgrade: WebSocketUpgrade,
        head: HTTPRequestHead,
        replacing http: ChannelHandlerContext,
        timeouts: HTTPReadTimeoutHandler?
    ) -> HTTPError? {
        let accept: String
        switch WebSocketHandshake.accept(head.headers) {
        case .success(let value): accept = value
        case .failure(let refusal):
            upgrade.abandoned()
            return HTTPError(refusal)
        }
        var headers: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept]
        if let subprotocol = upgrade.subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        let switchingProtocols = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
        http.writeAndFlush(NIOAny(HTTPServerResponsePart.head(switchingProtocols)), promise: nil)
        // The WebSocket handlers go in at once rather than when the write completes: what they write
        // queues behind the 101, and a `/sub` subscription exists before the client can read the answer
        // (and publish, on another connection, expecting to receive it). A client that left meanwhile
        // closes the channel, which tears them down.
        do {
            try install(try upgrade.makeHandlers(http.channel), replacing: http, timeouts: timeouts)
        } catch {
            upgrade.abandoned()
            http.close(promise: nil)
        }
        return nil
    }

    /// Writes a streamed response's head (`200`, chunked) and gives the connection to `handler`.
    static func stream(
        _ headers: HTTPHeaders,
        to handler: any ChannelHandler,
        replacing http: ChannelHandlerContext,
        timeouts: HTTPReadTimeoutHandler?
    ) {
        http.write(
            NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil
        )
        do {
            try stream(to: handler, replacing: http, timeouts: timeouts)
        } catch {
            http.close(promise: nil)
        }
    }

    /// Replaces the HTTP handlers by `handlers`, as NIO's upgrader does: the request decoder goes last
    /// and forwards any bytes it already read past the handshake to the first of them.
    private static func install(
        _ handlers: [any ChannelHandler],
        replacing http: ChannelHandlerContext,
        timeouts: HTTPReadTimeoutHandler?
    ) throws {
        let pipeline = http.pipeline.syncOperations
        let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
        try removeResponseHandlers(from: pipeline, timeouts: timeouts)
        for added in handlers.reversed() {
            try pipeline.addHandler(added, position: .after(decoder))
        }
        pipeline.removeHandler(context: http, promise: nil)
        pipeline.removeHandler(decoder, promise: nil)
    }

    /// Puts `handler` in place of the HTTP handlers once a streamed response's head is written: from
    /// here on it writes finished chunks itself and ignores what the client sends. The request decoder
    /// goes on the next tick, outside its own decoding loop (this code runs inside it).
    private static func stream(
        to handler: any ChannelHandler,
        replacing http: ChannelHandlerContext,
        timeouts: HTTPReadTimeoutHandler?
    ) throws {
        let pipeline = http.pipeline.syncOperations
        try removeResponseHandlers(from: pipeline, timeouts: timeouts)
        try pipeline.addHandler(handler, position: .after(http.handler))
        pipeline.removeHandler(context: http, promise: nil)
        let channel = http.channel
        http.eventLoop.execute {
            let pipeline = channel.pipeline.syncOperations
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                pipeline.removeHandler(decoder, promise: nil)
            }
        }
    }

    private static func removeResponseHandlers(
        from pipeline: ChannelPipeline.SynchronousOperations,
        timeouts: HTTPReadTimeoutHandler?
    ) throws {
        try pipeline.removeHandler(pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
        try pipeline.removeHandler(pipeline.handler(type: HTTPServerPipelineHandler.self), promise: nil)
        if let timeouts { pipeline.removeHandler(timeouts, promise: nil) }
    }
}
