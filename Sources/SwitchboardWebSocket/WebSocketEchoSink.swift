package import NIOCore
import NIOWebSocket
import SwitchboardCore

/// `/echo` (`testing.websocket_echo`): every message goes back as it came, for the Autobahn conformance
/// suite. It is a sink like any front end's, so the suite exercises the same handler they use.
package final class WebSocketEchoSink: WebSocketMessageSink {
    private var connection: WebSocketConnectionHandler?
    private var context: ChannelHandlerContext?

    package init() {}

    package func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext) {
        self.connection = connection
        self.context = context
    }

    package func received(_ message: WebSocketMessage, on channel: any Channel) {
        guard let context, connection?.isClosing == false else { return }
        let frame = WebSocketFrameWriter.frame(
            opcode: message.isBinary ? .binary : .text,
            payload: message.payload,
            allocator: channel.allocator
        )
        context.writeAndFlush(NIOAny(frame), promise: nil)
    }

    package func detached(from channel: any Channel) {
        connection = nil
        context = nil
    }

    package func shutdown(_ channel: any Channel) {
        connection?.close(.shutdown)
    }
}
