package import NIOCore

/// A complete WebSocket message with its kind, for protocols that tell text from binary (Engine.IO).
package struct WebSocketMessage: Sendable {
    package var isBinary: Bool
    package var payload: ByteBuffer

    package init(isBinary: Bool, payload: ByteBuffer) {
        self.isBinary = isBinary
        self.payload = payload
    }
}

/// Asks the ``WebSocketConnectionHandler`` in front to close with this code and reason (sent down the
/// pipeline with `triggerUserOutboundEvent`, by a protocol handler behind it or from another event loop).
/// The connection closes when the peer answers, or after the goodbye timeout.
package struct WebSocketCloseRequest: Sendable {
    package var code: UInt16
    package var reason: String

    package init(code: UInt16, reason: String) {
        self.code = code
        self.reason = reason
    }
}

/// A front end's side of a WebSocket connection: where the ``WebSocketConnectionHandler`` hands each
/// complete message, and the events of the connection's life. A sink is a protocol object, not a channel
/// handler, which saves a handler and its pipeline context per connection. Called on the channel's loop.
///
/// The sink writes finished frames through the handler's context (it frames them itself, so an
/// encode-once frame goes out as is) and closes through ``WebSocketConnectionHandler/close(code:reason:)``.
package protocol WebSocketMessageSink: AnyObject {
    /// The handshake is done and the handler is in the pipeline: from now on the sink may write through
    /// `context` (the handler's) and read the connection's state from `connection`.
    func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext)
    func received(_ message: WebSocketMessage, on channel: any Channel)
    /// The connection ended.
    func detached(from channel: any Channel)
    /// The server is shutting down.
    func shutdown(_ channel: any Channel)
    /// The connection can take more (or no more) output.
    func writabilityChanged(_ channel: any Channel, isWritable: Bool)
}

extension WebSocketMessageSink {
    package func writabilityChanged(_ channel: any Channel, isWritable: Bool) {}
}
