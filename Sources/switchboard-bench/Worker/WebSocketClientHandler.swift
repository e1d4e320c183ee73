import NIOCore

/// A WebSocket subscriber that does only what a benchmark needs: the opening handshake, then frames parsed
/// straight out of the read buffers (many per read, no per-frame allocation), pings answered.
final class WebSocketClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let stats: DeliveryStats
    private let events: ConnectionEvents
    private var state: SubscriptionState
    private var pending: ByteBuffer?
    private var upgraded = false

    init(
        host: String,
        port: Int,
        path: String,
        state: SubscriptionState,
        stats: DeliveryStats,
        events: ConnectionEvents
    ) {
        self.request =
            "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        self.state = state
        self.stats = stats
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if upgraded { events.closed += 1 } else { events.connectionFailed() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var previous = pending {
            pending = nil
            previous.writeBuffer(&buffer)
            buffer = previous
        }
        if !upgraded {
            guard let end = HTTPHead.end(in: buffer) else {
                pending = buffer
                return
            }
            guard HTTPHead.status(in: buffer) == 101 else {
                context.close(promise: nil)
                return
            }
            buffer.moveReaderIndex(forwardBy: end)
            upgraded = true
            events.connectionSucceeded()
        }
        readFrames(&buffer, context: context)
        if buffer.readableBytes > 0 { pending = buffer }
    }

    /// RFC 6455 §5.2 framing, server to client: never masked.
    private func readFrames(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        let now = Clock.nanos()
        while buffer.readableBytes >= 2 {
            let start = buffer.readerIndex
            let first = buffer.getInteger(at: start, as: UInt8.self)!
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)!
            var headerLength = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return }
                length = Int(extended)
                headerLength = 4
            } else if length == 127 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return }
                length = Int(extended)
                headerLength = 10
            }
            guard buffer.readableBytes >= headerLength + length else { return }
            let payload = buffer.getSlice(at: start + headerLength, length: length)!
            buffer.moveReaderIndex(forwardBy: headerLength + length)
            switch first & 0x0F {
            case 0x1, 0x2: stats.record(payload.readableBytesView, now: now, state: &state)
            case 0x9: sendPong(payload, context: context)
            case 0x8: context.close(promise: nil)
            default: break
            }
        }
    }

    private func sendPong(_ payload: ByteBuffer, context: ChannelHandlerContext) {
        // Client frames must be masked; a zero key leaves the payload as it is.
        var frame = context.channel.allocator.buffer(capacity: payload.readableBytes + 6)
        frame.writeInteger(UInt8(0x8A))
        frame.writeInteger(UInt8(0x80 | UInt8(payload.readableBytes)))
        frame.writeInteger(UInt32(0))
        frame.writeImmutableBuffer(payload)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }
}

/// Just enough HTTP/1.1 response-head parsing for the hand-made clients.
enum HTTPHead {
    /// The index just past the blank line ending the head, if it has arrived.
    static func end(in buffer: ByteBuffer) -> Int? {
        let view = buffer.readableBytesView
        var index = view.startIndex
        while index + 3 < view.endIndex {
            if view[index] == 0x0D && view[index + 1] == 0x0A && view[index + 2] == 0x0D && view[index + 3] == 0x0A {
                return index + 4 - view.startIndex
            }
            index += 1
        }
        return nil
    }

    /// The status code of the head at the start of `buffer`.
    static func status(in buffer: ByteBuffer) -> Int? {
        guard let line = buffer.getString(at: buffer.readerIndex, length: min(12, buffer.readableBytes)) else {
            return nil
        }
        let parts = line.split(separator: " ")
        return parts.count >= 2 ? Int(parts[1]) : nil
    }
}
