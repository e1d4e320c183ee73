import DequeModule
import NIOCore

/// A client of a TCP echo server, straight or through a WebSocket bridge (`webSocketPath` set: the
/// upgrade with the `binary` subprotocol, then masked binary frames out and server frames in). It hands
/// the echoed bytes to `onBytes`, whatever the framing. Confined to its event loop.
final class EchoClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String?
    private var head = ResponseHeadReader()
    private var context: ChannelHandlerContext?
    private let ready: EventLoopPromise<Void>
    var onBytes: ((ByteBuffer) -> Void)?
    var onClose: (() -> Void)?

    init(host: String, port: Int, webSocketPath: String?, ready: EventLoopPromise<Void>) {
        self.ready = ready
        self.request = webSocketPath.map { path in
            "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                + "Sec-WebSocket-Protocol: binary\r\n\r\n"
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        if let request {
            context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
        } else {
            ready.succeed(())
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(ChannelError.ioOnClosedChannel)
        onClose?()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    /// Sends `payload` (as one binary frame through a bridge); flushed at once unless `flush` is false.
    func send(_ payload: ByteBuffer, flush: Bool = true) {
        guard let context else { return }
        if request == nil {
            context.write(wrapOutboundOut(payload), promise: nil)
        } else {
            var frame = ByteBuffer()
            frame.reserveCapacity(payload.readableBytes + 14)
            frame.writeInteger(UInt8(0x82))
            switch payload.readableBytes {
            case 0...125: frame.writeInteger(UInt8(0x80 | UInt8(payload.readableBytes)))
            case 126...65535:
                frame.writeInteger(UInt8(0x80 | 126))
                frame.writeInteger(UInt16(payload.readableBytes))
            default:
                frame.writeInteger(UInt8(0x80 | 127))
                frame.writeInteger(UInt64(payload.readableBytes))
            }
            frame.writeInteger(UInt32(0))  // a zero mask key leaves the payload as it is
            context.write(wrapOutboundOut(frame), promise: nil)
            context.write(wrapOutboundOut(payload), promise: nil)
        }
        if flush { context.flush() }
    }

    func flush() {
        context?.flush()
    }

    func close() {
        context?.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let data = unwrapInboundIn(data)
        guard request != nil else {
            onBytes?(data)
            return
        }
        let wasStreaming = head.isStreaming
        guard var buffer = head.read(data, expecting: 101) else {
            if head.failed { context.close(promise: nil) }
            return
        }
        if !wasStreaming { ready.succeed(()) }
        _ = WebSocketStreamParser.forEachFrame(in: &buffer) { opcode, payload in
            if opcode == 0x2 || opcode == 0x1 { self.onBytes?(payload) }
            return opcode != 0x8
        }
        head.keep(buffer)
    }
}
