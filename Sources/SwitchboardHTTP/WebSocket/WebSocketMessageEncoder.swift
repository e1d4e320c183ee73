import NIOCore
import NIOWebSocket
import SwitchboardCore
import SwitchboardWebSocket

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
