import NIOCore

/// A publishing Socket.IO client on a WebSocket: each message is an EVENT with an acknowledgement, and
/// up to `depth` of them wait for theirs, as HTTP publishers pipeline their POSTs.
final class SocketIOPublishConnection: ChannelInboundHandler, PublishingConnection {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let depth: Int
    let allocator = ByteBufferAllocator()
    private(set) var outstanding = 0
    var onResponse: ((Bool) -> Void)?
    private let dialect: SocketIODialect
    private let request: String
    private let ready: EventLoopPromise<Void>
    private var context: ChannelHandlerContext?
    private var head = ResponseHeadReader()
    private var nextAck = 2

    init(depth: Int, dialect: SocketIODialect, host: String, port: Int, path: String, ready: EventLoopPromise<Void>) {
        self.depth = depth
        self.dialect = dialect
        self.request = WebSocketStreamParser.request(host: host, port: port, path: path)
        self.ready = ready
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        ready.fail(ChannelError.ioOnClosedChannel)
    }

    func publish(channel: String, path: String, body: ByteBuffer) {
        guard let context else { return }
        let ack = nextAck
        nextAck += 1
        context.writeAndFlush(
            wrapOutboundOut(SocketIOWire.maskedText("4" + dialect.publish(channel, payload: body, ack: ack))),
            promise: nil
        )
        outstanding += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard var buffer = head.read(unwrapInboundIn(data), expecting: 101) else {
            if head.failed { context.close(promise: nil) }
            return
        }
        _ = WebSocketStreamParser.forEachFrame(in: &buffer) { opcode, payload in
            guard opcode == 0x1, let first = payload.readableBytesView.first else { return true }
            switch first {
            case UInt8(ascii: "0"):
                context.writeAndFlush(wrapOutboundOut(SocketIOWire.maskedText("40")), promise: nil)
            case UInt8(ascii: "2"):
                context.writeAndFlush(wrapOutboundOut(SocketIOWire.maskedText("3")), promise: nil)
            case UInt8(ascii: "4"):
                let view = payload.readableBytesView
                if view.starts(with: "40".utf8) {
                    ready.succeed(())
                } else if view.starts(with: "43".utf8) {
                    outstanding -= 1
                    onResponse?(true)
                }
            default:
                break
            }
            return true
        }
        head.keep(buffer)
    }
}
