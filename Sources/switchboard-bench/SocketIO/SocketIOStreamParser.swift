import NIOCore

/// A Socket.IO subscriber on a WebSocket (`transport=websocket`): answers the Engine.IO `open` with a
/// namespace CONNECT, then joins its room, answers pings, and records every event's payload. One instance
/// per connection (it keeps the handshake's progress).
final class SocketIOStreamParser: SubscriberStreamParser {
    private let dialect: SocketIODialect
    private let room: String
    private var joined = false

    init(dialect: SocketIODialect, room: String) {
        self.dialect = dialect
        self.room = room
    }

    static func request(host: String, port: Int, path: String) -> String {
        WebSocketStreamParser.request(host: host, port: port, path: path)
    }

    static let expectedStatus = 101

    func parse(
        _ buffer: inout ByteBuffer,
        now: UInt64,
        stats: DeliveryStats,
        state: inout SubscriptionState,
        reply: (ByteBuffer) -> Void
    ) -> Bool {
        WebSocketStreamParser.forEachFrame(in: &buffer) { opcode, payload in
            switch opcode {
            case 0x1:
                let view = payload.readableBytesView
                guard let first = view.first else { return true }
                switch first {
                case UInt8(ascii: "0"):  // Engine.IO open: connect to the main namespace
                    reply(SocketIOWire.maskedText("40"))
                case UInt8(ascii: "2"):  // ping
                    reply(SocketIOWire.maskedText("3"))
                case UInt8(ascii: "4"):
                    if !joined, view.starts(with: "40".utf8) {
                        joined = true
                        reply(SocketIOWire.maskedText("4" + dialect.join(room)))
                    } else {
                        SocketIOWire.recordEvent(view, now: now, stats: stats, state: &state)
                    }
                default:
                    break
                }
                return true
            case 0x9:
                var pong = SocketIOWire.maskedText("")
                pong.setInteger(UInt8(0x8A), at: pong.readerIndex)
                reply(pong)
                return true
            case 0x8:
                return false
            default:
                return true
            }
        }
    }
}
