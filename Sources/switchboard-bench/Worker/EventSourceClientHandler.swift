import NIOCore

/// An SSE subscriber: sends the request, checks for `200`, then takes every `data:` line as one payload.
/// Chunk-size lines of the chunked body never start with `data:`, so the body is scanned without
/// de-chunking (each chunk holds whole events in both servers measured).
final class EventSourceClientHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let stats: DeliveryStats
    private let events: ConnectionEvents
    private var state: SubscriptionState
    private var pending: ByteBuffer?
    private var streaming = false

    init(
        host: String,
        port: Int,
        path: String,
        state: SubscriptionState,
        stats: DeliveryStats,
        events: ConnectionEvents
    ) {
        self.request = "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\n\r\n"
        self.state = state
        self.stats = stats
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if streaming { events.closed += 1 } else { events.connectionFailed() }
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
        if !streaming {
            guard let end = HTTPHead.end(in: buffer) else {
                pending = buffer
                return
            }
            guard HTTPHead.status(in: buffer) == 200 else {
                context.close(promise: nil)
                return
            }
            buffer.moveReaderIndex(forwardBy: end)
            streaming = true
            events.connectionSucceeded()
        }
        let now = Clock.nanos()
        let view = buffer.readableBytesView
        var lineStart = view.startIndex
        var index = view.startIndex
        while index < view.endIndex {
            if view[index] == 0x0A {
                let line = view[lineStart..<index]
                if line.count > 6, line.starts(with: Self.dataPrefix) {
                    stats.record(line.dropFirst(6), now: now, state: &state)
                }
                lineStart = index + 1
            }
            index += 1
        }
        buffer.moveReaderIndex(forwardBy: lineStart - view.startIndex)
        if buffer.readableBytes > 0 { pending = buffer }
    }

    private static let dataPrefix: [UInt8] = Array("data: ".utf8)
}
