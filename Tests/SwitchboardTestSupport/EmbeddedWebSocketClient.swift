public import NIOCore
public import NIOEmbedded

/// What the EmbeddedChannel tests of every front end do as a WebSocket client: the upgrade request,
/// masked frames in (RFC 6455 §5.3), the server's bytes and frames out.
public enum EmbeddedWebSocketClient {
    /// A WebSocket upgrade request for `path`, with `headers` (each ending in CRLF) added (the key of
    /// RFC 6455's example: the answer's accept value is `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`).
    public static func upgradeRequest(_ path: String, headers: String = "") -> ByteBuffer {
        ByteBuffer(
            string: "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\(headers)\r\n"
        )
    }

    /// A connection from loopback whose pipeline `install` builds (a service's handlers), after `request`
    /// and one event-loop turn (the request decoder leaves the pipeline on the next turn); what it was
    /// answered.
    public static func open(
        _ channel: EmbeddedChannel,
        request: ByteBuffer,
        install: (EmbeddedChannel) throws -> Void
    ) throws -> String {
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        try install(channel)
        try channel.writeInbound(request)
        channel.embeddedEventLoop.run()
        return String(decoding: try written(channel), as: UTF8.self)
    }

    /// Sends `text` as one text message, and lets the event loop run.
    public static func sendText(_ text: String, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(frame(0x1, Array(text.utf8)))
        channel.embeddedEventLoop.run()
    }

    /// The text messages written to `channel` since the last call.
    public static func texts(_ channel: EmbeddedChannel) throws -> [String] {
        try frames(channel).filter { $0.opcode == 0x1 }.map { String(decoding: $0.payload, as: UTF8.self) }
    }

    /// The accept value answered to ``upgradeRequest(_:)``.
    public static let acceptValue = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

    /// A client frame with a payload of up to 65,535 bytes: masked, as clients must (unmasked to provoke
    /// the protocol error), final unless `fin` is false.
    public static func frame(_ opcode: UInt8, _ payload: [UInt8], masked: Bool = true, fin: Bool = true) -> ByteBuffer {
        let key: [UInt8] = [0x37, 0xFA, 0x21, 0x3D]
        let mask: UInt8 = masked ? 0x80 : 0
        var buffer = ByteBuffer()
        buffer.writeInteger((fin ? 0x80 : 0) | opcode)
        if payload.count < 126 {
            buffer.writeInteger(mask | UInt8(payload.count))
        } else {
            buffer.writeInteger(mask | 126)
            buffer.writeInteger(UInt16(payload.count))
        }
        if masked {
            buffer.writeBytes(key)
            buffer.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
        } else {
            buffer.writeBytes(payload)
        }
        return buffer
    }

    /// The bytes written to `channel` since the last call.
    public static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let part = try channel.readOutbound(as: ByteBuffer.self) { bytes += Array(part.readableBytesView) }
        return bytes
    }

    /// The server's frames written to `channel` since the last call (unmasked; 7- and 16-bit lengths).
    public static func frames(_ channel: EmbeddedChannel) throws -> [(opcode: UInt8, payload: [UInt8])] {
        let bytes = try written(channel)
        var frames: [(opcode: UInt8, payload: [UInt8])] = []
        var index = 0
        while index + 2 <= bytes.count {
            let opcode = bytes[index] & 0x0F
            var length = Int(bytes[index + 1] & 0x7F)
            index += 2
            if length == 126, index + 2 <= bytes.count {
                length = Int(bytes[index]) << 8 | Int(bytes[index + 1])
                index += 2
            }
            frames.append((opcode, Array(bytes[index..<min(bytes.count, index + length)])))
            index += length
        }
        return frames
    }
}
