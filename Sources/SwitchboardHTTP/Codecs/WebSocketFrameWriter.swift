import NIOCore
import NIOWebSocket
import SwitchboardCore

/// Writes server-to-client WebSocket frames (RFC 6455 §5.2): never masked, always final.
///
/// Written by hand rather than through NIO's frame encoder so that a message's whole frame — header and
/// payload — is encoded once and the same buffer is written to every subscriber.
enum WebSocketFrameWriter {
    static func frame(opcode: WebSocketOpcode, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.readableBytes + 10)
        writeHeader(opcode: opcode, length: payload.readableBytes, into: &buffer)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    static func writeHeader(opcode: WebSocketOpcode, length: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))
        switch length {
        case 0...125:
            buffer.writeInteger(UInt8(length))
        case 126...Int(UInt16.max):
            buffer.writeInteger(UInt8(126))
            buffer.writeInteger(UInt16(length))
        default:
            buffer.writeInteger(UInt8(127))
            buffer.writeInteger(UInt64(length))
        }
    }

    /// The close frame that answers the peer's: its status code echoed (RFC 6455 §5.5.1), or empty.
    static func closeReply(echoing code: UInt16?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 2)
        if let code { payload.writeInteger(code) }
        return frame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }

    /// A close frame with `code` and a reason cut to fit the 125-byte control frame limit (RFC 6455 §5.5).
    static func closeFrame(code: UInt16, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 125)
        payload.writeInteger(code)
        var reasonBytes = Array(reason.utf8.prefix(123))
        while !UTF8Validation.isValid(reasonBytes) { reasonBytes.removeLast() }
        payload.writeBytes(reasonBytes)
        return frame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }
}

/// The frame formats subscribers receive: the raw payload, or (subprotocol `ws+meta.switchboard`) header
/// lines then the payload.
struct WebSocketMessageEncoder: MessageEncoder {
    /// Whether to prefix the payload with `id:`, `channel:`, `content-type:` and `event:` lines.
    let includesMetadata: Bool

    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        let opcode: WebSocketOpcode = message.isText ? .text : .binary
        guard includesMetadata else {
            return WebSocketFrameWriter.frame(opcode: opcode, payload: message.payload, allocator: allocator)
        }
        var header = allocator.buffer(capacity: 128)
        Self.writeMetadata(
            id: message.position.description,
            channel: message.channel.rawValue,
            contentType: message.contentType,
            event: message.eventType,
            into: &header
        )
        var buffer = allocator.buffer(capacity: header.readableBytes + message.payload.readableBytes + 10)
        WebSocketFrameWriter.writeHeader(
            opcode: opcode,
            length: header.readableBytes + message.payload.readableBytes,
            into: &buffer
        )
        buffer.writeBuffer(&header)
        buffer.writeImmutableBuffer(message.payload)
        return buffer
    }

    static func writeMetadata(
        id: String?,
        channel: String,
        contentType: String?,
        event: String?,
        into buffer: inout ByteBuffer
    ) {
        if let id { buffer.writeString("id: \(id)\n") }
        buffer.writeString("channel: \(channel)\n")
        if let contentType { buffer.writeString("content-type: \(contentType.filter { $0 != "\n" && $0 != "\r" })\n") }
        if let event { buffer.writeString("event: \(event.filter { $0 != "\n" && $0 != "\r" })\n") }
        buffer.writeStaticString("\n")
    }
}
