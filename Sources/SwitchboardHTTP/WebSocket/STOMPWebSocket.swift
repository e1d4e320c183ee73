import NIOCore
import NIOHTTP1
import NIOWebSocket
import SwitchboardCore
import SwitchboardSTOMP

/// STOMP over WebSocket (`/stomp`): the subprotocol choice, the framing of outbound STOMP frames, and the
/// handler that turns WebSocket messages into the byte stream the STOMP connection handler reads.
enum STOMPWebSocket {
    /// The subprotocols of STOMP over WebSocket, best first.
    static let subprotocols = ["v12.stomp", "v11.stomp", "v10.stomp"]

    /// The subprotocol to answer for the client's `Sec-WebSocket-Protocol` offer: the best version it
    /// offers, or none (clients that offer none, like RabbitMQ allows, get STOMP all the same).
    static func chooseSubprotocol(offered headers: HTTPHeaders) -> String? {
        // `canonicalForm` splits the comma-separated offers and trims them.
        let offered = Set(headers[canonicalForm: "sec-websocket-protocol"].map { $0.lowercased() })
        return subprotocols.first { offered.contains($0) }
    }

    /// Each STOMP frame goes out as one WebSocket message: text when it is UTF-8, binary otherwise.
    static let framing = STOMPConnectionHandler.Framing { isText, length, buffer in
        WebSocketFrameWriter.writeHeader(opcode: isText ? .text : .binary, length: length, into: &buffer)
    }

    /// In front of the STOMP handler: parses WebSocket frames, answers pings and the closing handshake,
    /// passes the payload of every text or binary message on, and turns a close of the connection into a
    /// WebSocket close frame first. Outbound STOMP frames arrive already framed (``framing``).
    final class Handler: ChannelDuplexHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
        typealias InboundOut = ByteBuffer
        typealias OutboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        private var assembler: WebSocketFrameAssembler
        private let parser: WebSocketFrameParser
        private var pending = PartialInput()

        init(service: HTTPService) {
            self.assembler = WebSocketFrameAssembler(maxMessageSize: service.configuration.maxMessageSize)
            self.parser = WebSocketFrameParser(maxFrameSize: service.configuration.maxMessageSize)
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = pending.joined(with: unwrapInboundIn(data))
            do {
                while let frame = try parser.nextFrame(from: &buffer) {
                    guard frameReceived(frame, context: context) else { return }
                }
            } catch .frameTooLarge {
                fail(code: WebSocketFrameAssembler.CloseCode.messageTooBig, reason: "frame too large", context: context)
                return
            } catch {
                fail(code: WebSocketFrameAssembler.CloseCode.protocolError, reason: "malformed frame", context: context)
                return
            }
            pending.keep(&buffer, allocator: context.channel.allocator)
        }

        /// Runs the assembler's action for one frame; false once the connection is ending.
        private func frameReceived(_ frame: WebSocketFrame, context: ChannelHandlerContext) -> Bool {
            switch assembler.frameReceived(frame) {
            case .none, .pongReceived:
                return true
            case .message(_, let payload):
                context.fireChannelRead(wrapInboundOut(payload))
                return true
            case .sendPong(let payload):
                let pong = WebSocketFrameWriter.frame(
                    opcode: .pong,
                    payload: payload,
                    allocator: context.channel.allocator
                )
                context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
                return true
            case .replyToClose(let code):
                let reply = WebSocketFrameWriter.closeReply(echoing: code, allocator: context.channel.allocator)
                let channel = context.channel
                context.writeAndFlush(wrapOutboundOut(reply)).whenComplete { _ in channel.close(promise: nil) }
                return false
            case .closeCompleted:
                context.close(promise: nil)
                return false
            case .fail(let code, let reason):
                fail(code: code, reason: reason, context: context)
                return false
            }
        }

        private func fail(code: UInt16, reason: String, context: ChannelHandlerContext) {
            assembler.closeSent()
            let frame = WebSocketFrameWriter.closeFrame(
                code: code,
                reason: reason,
                allocator: context.channel.allocator
            )
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in channel.close(promise: nil) }
        }

        func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
            // The STOMP side closes (after ERROR or DISCONNECT): say goodbye the WebSocket way first.
            guard mode == .all, !assembler.isClosing, context.channel.isActive else {
                context.close(mode: mode, promise: promise)
                return
            }
            assembler.closeSent()
            let frame = WebSocketFrameWriter.closeFrame(
                code: WebSocketFrameAssembler.CloseCode.normal,
                reason: "",
                allocator: context.channel.allocator
            )
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
                bound.value.close(mode: mode, promise: promise)
            }
        }
    }
}
