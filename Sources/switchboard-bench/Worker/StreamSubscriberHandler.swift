import NIOCore

/// The body of a subscriber stream, after the HTTP response head: WebSocket frames or SSE lines.
protocol SubscriberStreamParser {
    /// The request that opens the stream (`HOST:PORT` and path filled in).
    static func request(host: String, port: Int, path: String) -> String
    /// The status that starts the stream (101 for WebSocket, 200 for SSE).
    static var expectedStatus: Int { get }
    /// Consumes every complete unit at the start of `buffer`, recording payloads; returns `false` when the
    /// connection must close. `reply` writes bytes back (pongs).
    func parse(
        _ buffer: inout ByteBuffer,
        now: UInt64,
        stats: DeliveryStats,
        state: inout SubscriptionState,
        reply: (ByteBuffer) -> Void
    ) -> Bool
}

/// A benchmark subscriber on a raw TCP connection: sends the opening request, checks the response head,
/// then hands everything after it to its parser straight from the read buffers (many messages per read,
/// no per-message allocation).
final class StreamSubscriberHandler<Parser: SubscriberStreamParser>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let request: String
    private let parser: Parser
    private let stats: DeliveryStats
    private let events: ConnectionEvents
    private var state: SubscriptionState
    private var head = ResponseHeadReader()

    init(
        parser: Parser,
        host: String,
        port: Int,
        path: String,
        state: SubscriptionState,
        stats: DeliveryStats,
        events: ConnectionEvents
    ) {
        self.request = Parser.request(host: host, port: port, path: path)
        self.parser = parser
        self.state = state
        self.stats = stats
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: request)), promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if head.isStreaming { events.closed += 1 } else { events.connectionFailed() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let wasStreaming = head.isStreaming
        guard var buffer = head.read(unwrapInboundIn(data), expecting: Parser.expectedStatus) else {
            if head.failed { context.close(promise: nil) }
            return
        }
        if !wasStreaming { events.connectionSucceeded() }
        let keepOpen = parser.parse(&buffer, now: Clock.nanos(), stats: stats, state: &state) { bytes in
            context.writeAndFlush(self.wrapOutboundOut(bytes), promise: nil)
        }
        guard keepOpen else {
            context.close(promise: nil)
            return
        }
        head.keep(buffer)
    }
}

/// The start of a hand-made client's stream: collects the response head, checks its status, and hands
/// back what follows it — plus whatever a previous read left unconsumed (``keep(_:)``).
struct ResponseHeadReader {
    private var pending: ByteBuffer?
    private(set) var isStreaming = false
    /// Set when the head had another status than expected: close the connection.
    private(set) var failed = false

    /// The bytes to parse now, or nil while the head is incomplete (or was refused: see ``failed``).
    mutating func read(_ data: ByteBuffer, expecting status: Int) -> ByteBuffer? {
        var buffer = data
        if var previous = pending {
            pending = nil
            previous.writeBuffer(&buffer)
            buffer = previous
        }
        if !isStreaming {
            guard let end = HTTPHead.end(in: buffer) else {
                pending = buffer
                return nil
            }
            guard HTTPHead.status(in: buffer) == status else {
                failed = true
                return nil
            }
            buffer.moveReaderIndex(forwardBy: end)
            isStreaming = true
        }
        return buffer
    }

    /// Keeps an incomplete frame for the next read.
    mutating func keep(_ buffer: ByteBuffer) {
        if buffer.readableBytes > 0 { pending = buffer }
    }
}

/// WebSocket framing, server to client (RFC 6455 §5.2): never masked; pings answered.
struct WebSocketStreamParser: SubscriberStreamParser {
    static func request(host: String, port: Int, path: String) -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    }

    static let expectedStatus = 101

    func parse(
        _ buffer: inout ByteBuffer,
        now: UInt64,
        stats: DeliveryStats,
        state: inout SubscriptionState,
        reply: (ByteBuffer) -> Void
    ) -> Bool {
        Self.forEachFrame(in: &buffer) { opcode, payload in
            switch opcode {
            case 0x1, 0x2: stats.record(payload.readableBytesView, now: now, state: &state)
            case 0x9: reply(Self.pong(payload))
            case 0x8: return false
            default: break
            }
            return true
        }
    }

    /// Calls `body` with each complete server frame (opcode and payload) at the start of `buffer`,
    /// consuming them; stops early when `body` returns false (and then returns false).
    static func forEachFrame(in buffer: inout ByteBuffer, _ body: (UInt8, ByteBuffer) -> Bool) -> Bool {
        while buffer.readableBytes >= 2 {
            let start = buffer.readerIndex
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)!
            var headerLength = 2
            var length = Int(second & 0x7F)
            if length == 126 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt16.self) else { return true }
                length = Int(extended)
                headerLength = 4
            } else if length == 127 {
                guard let extended = buffer.getInteger(at: start + 2, as: UInt64.self) else { return true }
                length = Int(extended)
                headerLength = 10
            }
            guard buffer.readableBytes >= headerLength + length else { return true }
            let opcode = buffer.getInteger(at: start, as: UInt8.self)! & 0x0F
            let payload = buffer.getSlice(at: start + headerLength, length: length)!
            buffer.moveReaderIndex(forwardBy: headerLength + length)
            guard body(opcode, payload) else { return false }
        }
        return true
    }

    /// Client frames must be masked; a zero key leaves the payload as it is.
    private static func pong(_ payload: ByteBuffer) -> ByteBuffer {
        var frame = ByteBuffer()
        frame.reserveCapacity(payload.readableBytes + 6)
        frame.writeInteger(UInt8(0x8A))
        frame.writeInteger(UInt8(0x80 | UInt8(payload.readableBytes)))
        frame.writeInteger(UInt32(0))
        frame.writeImmutableBuffer(payload)
        return frame
    }
}

/// Server-Sent Events: every `data:` line is one payload. Chunk-size lines of the chunked body never start
/// with `data:`, so the body is scanned without de-chunking (each chunk holds whole events in both servers
/// measured).
struct EventStreamParser: SubscriberStreamParser {
    static func request(host: String, port: Int, path: String) -> String {
        "GET \(path) HTTP/1.1\r\nHost: \(host):\(port)\r\nAccept: text/event-stream\r\n\r\n"
    }

    static let expectedStatus = 200
    private static let dataPrefix: [UInt8] = Array("data: ".utf8)

    func parse(
        _ buffer: inout ByteBuffer,
        now: UInt64,
        stats: DeliveryStats,
        state: inout SubscriptionState,
        reply: (ByteBuffer) -> Void
    ) -> Bool {
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
        return true
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
