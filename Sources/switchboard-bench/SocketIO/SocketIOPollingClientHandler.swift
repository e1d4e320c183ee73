import Foundation
import NIOCore
import NIOHTTP1

/// A Socket.IO subscriber on HTTP long-polling, on one keep-alive connection: the handshake `GET`, then
/// `GET` after `GET`; what it has to say (the namespace CONNECT, the join, pongs) goes in a `POST`
/// between two polls — the server answers a waiting poll at the latest with its next ping.
final class SocketIOPollingClientHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let host: String
    private let path: String
    private let dialect: SocketIODialect
    private let room: String
    private let stats: DeliveryStats
    private let events: ConnectionEvents
    private var state: SubscriptionState
    private var sid: String?
    private var status = 0
    private var body: ByteBuffer?
    private var outgoing: [String] = []
    private var counted = false
    private var joined = false

    init(
        host: String,
        port: Int,
        path: String,
        dialect: SocketIODialect,
        room: String,
        state: SubscriptionState,
        stats: DeliveryStats,
        events: ConnectionEvents
    ) {
        self.host = "\(host):\(port)"
        self.path = path
        self.dialect = dialect
        self.room = room
        self.state = state
        self.stats = stats
        self.events = events
    }

    func channelActive(context: ChannelHandlerContext) {
        request(.GET, body: nil, context: context)
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
        case .body(var chunk):
            if body == nil { body = chunk } else { body!.writeBuffer(&chunk) }
        case .end:
            guard status == 200 else {
                context.close(promise: nil)
                return
            }
            if let body { packets(body) }
            if !outgoing.isEmpty {
                let payload = outgoing.joined(separator: "\u{1e}")
                outgoing = []
                request(.POST, body: ByteBuffer(string: payload), context: context)
            } else {
                request(.GET, body: nil, context: context)
            }
        }
    }

    /// The packets of a poll answer (or `ok` after a POST, which is not a packet).
    private func packets(_ body: ByteBuffer) {
        let view = body.readableBytesView
        var start = view.startIndex
        while start < view.endIndex {
            let end = view[start...].firstIndex(of: 0x1E) ?? view.endIndex
            packet(view[start..<end])
            start = end + 1
        }
    }

    private func packet(_ packet: ByteBufferView.SubSequence) {
        guard let first = packet.first else { return }
        switch first {
        case UInt8(ascii: "0") where sid == nil:
            // The open packet: {"sid":"...", ...}
            let text = String(decoding: packet, as: UTF8.self)
            if let range = text.range(of: "\"sid\":\""), let end = text[range.upperBound...].firstIndex(of: "\"") {
                sid = String(text[range.upperBound..<end])
                outgoing.append("40")
            }
        case UInt8(ascii: "2"):
            outgoing.append("3")
        case UInt8(ascii: "4"):
            if !joined, packet.starts(with: "40".utf8) {
                joined = true
                outgoing.append("4" + dialect.join(room))
                counted = true
                events.connectionSucceeded()
            } else {
                SocketIOWire.recordEvent(packet, now: Clock.nanos(), stats: stats, state: &state)
            }
        default:
            break
        }
    }

    private func request(_ method: HTTPMethod, body: ByteBuffer?, context: ChannelHandlerContext) {
        let uri = sid.map { path + "&sid=" + $0 } ?? path
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri)
        head.headers.add(name: "Host", value: host)
        if let body {
            head.headers.add(name: "Content-Type", value: "text/plain;charset=UTF-8")
            head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
