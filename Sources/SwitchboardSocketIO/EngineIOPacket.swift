import NIOCore
import NIOWebSocket
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// One Engine.IO v4 packet (https://socket.io/docs/v4/engine-io-protocol/): a type and a payload, which
/// is text or — for `message` packets only — binary. The codec is pure: no I/O, no state.
///
/// On a WebSocket a packet is one frame: text `<type digit><text>`, or a binary frame holding a binary
/// message as is. On HTTP long-polling, packets are joined by the record separator `\x1e`, and a binary
/// message is written `b<base64>`.
struct EngineIOPacket: Equatable {
    enum Kind: UInt8 {
        case open = 0
        case close = 1
        case ping = 2
        case pong = 3
        case message = 4
        case upgrade = 5
        case noop = 6
    }

    var kind: Kind
    var payload: ByteBuffer
    /// Only `message` packets can be binary.
    var isBinary: Bool

    init(_ kind: Kind, text: String = "") {
        self.kind = kind
        self.payload = ByteBuffer(string: text)
        self.isBinary = false
    }

    init(_ kind: Kind, payload: ByteBuffer, isBinary: Bool = false) {
        self.kind = kind
        self.payload = payload
        self.isBinary = isBinary
    }

    static let separator = UInt8(0x1E)

    // MARK: Decoding

    /// A text packet (a WebSocket text frame, or one record of a polling payload); nil when the first
    /// byte is not a packet type.
    static func decode(text buffer: ByteBuffer) -> EngineIOPacket? {
        guard let first = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self) else { return nil }
        if first == UInt8(ascii: "b") {
            // Only in polling payloads: a binary message in base64.
            let encoded = buffer.getString(at: buffer.readerIndex + 1, length: buffer.readableBytes - 1) ?? ""
            guard let bytes = Base64.decode(encoded) else { return nil }
            return EngineIOPacket(.message, payload: ByteBuffer(bytes: bytes), isBinary: true)
        }
        guard first >= UInt8(ascii: "0"), let kind = Kind(rawValue: first - UInt8(ascii: "0")) else { return nil }
        let payload = buffer.getSlice(at: buffer.readerIndex + 1, length: buffer.readableBytes - 1) ?? ByteBuffer()
        return EngineIOPacket(kind, payload: payload)
    }

    /// The packets of an HTTP long-polling request body; nil when any of them is malformed.
    static func decode(pollingPayload body: ByteBuffer) -> [EngineIOPacket]? {
        var packets: [EngineIOPacket] = []
        let view = body.readableBytesView
        var start = view.startIndex
        while true {
            let end = view[start...].firstIndex(of: separator) ?? view.endIndex
            let record = body.getSlice(at: start, length: end - start) ?? ByteBuffer()
            guard let packet = decode(text: record) else { return nil }
            packets.append(packet)
            guard end < view.endIndex else { break }
            start = end + 1
        }
        return packets
    }

    // MARK: Encoding

    /// The packet as one WebSocket frame.
    func webSocketFrame(allocator: ByteBufferAllocator) -> ByteBuffer {
        if isBinary {
            return WebSocketFrameWriter.frame(opcode: .binary, payload: payload, allocator: allocator)
        }
        var buffer = allocator.buffer(capacity: payload.readableBytes + 11)
        WebSocketFrameWriter.writeHeader(opcode: .text, length: payload.readableBytes + 1, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "0") + kind.rawValue)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    /// Appends the packet as one record of a polling payload (without the separator).
    func writePolling(into buffer: inout ByteBuffer) {
        if isBinary {
            buffer.writeInteger(UInt8(ascii: "b"))
            buffer.writeString(Base64.encode(payload.readableBytesView))
        } else {
            buffer.writeInteger(UInt8(ascii: "0") + kind.rawValue)
            buffer.writeImmutableBuffer(payload)
        }
    }

    /// The text of a packet (its type digit and payload), for tests and logs.
    var text: String {
        var buffer = ByteBuffer()
        writePolling(into: &buffer)
        return String(buffer: buffer)
    }
}
