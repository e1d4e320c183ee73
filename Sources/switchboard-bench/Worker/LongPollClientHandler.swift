import NIOCore
import NIOHTTP1

/// A long-poll subscriber on one keep-alive connection: asks for the next message, records it, asks again
/// from the position the answer gave. Speaks both dialects: Switchboard's `Message-Id` → `Last-Event-ID`
/// and nchan's `Last-Modified` / `Etag` → `If-Modified-Since` / `If-None-Match`.
final class LongPollClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let path: String
    private let stats: DeliveryStats
    private let events: ConnectionEvents
    private var state: SubscriptionState
    private var cursor: [(String, String)] = []
    private var status = 0
    private var body: ByteBuffer?
    private var counted = false

    init(
        host: String,
        port: Int,
        path: String,
        state: SubscriptionState,
        stats: DeliveryStats,
        events: ConnectionEvents
    ) {
        self.host = "\(host):\(port)"
        self.path = path
        self.state = state
        self.stats = stats
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        poll(context: context)
        // A poll is "connected" once the request is on its way: the server answers only when a message comes.
        counted = true
        events.connectionSucceeded()
    }

    func channelInactive(context: ChannelHandlerContext) {
        if counted { events.closed += 1 } else { events.connectionFailed() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body = nil
            var next: [(String, String)] = []
            if let id = head.headers.first(name: "message-id") { next.append(("Last-Event-ID", id)) }
            if let modified = head.headers.first(name: "last-modified") { next.append(("If-Modified-Since", modified)) }
            if let etag = head.headers.first(name: "etag") { next.append(("If-None-Match", etag)) }
            if !next.isEmpty { cursor = next }
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            if status == 200, let body {
                stats.record(body.readableBytesView, now: Clock.nanos(), state: &state)
            }
            poll(context: context)
        }
    }

    private func poll(context: ChannelHandlerContext) {
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: host)
        for (name, value) in cursor { head.headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
