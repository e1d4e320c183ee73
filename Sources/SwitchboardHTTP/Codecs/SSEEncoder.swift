import NIOCore
import SwitchboardCore

/// Server-Sent Events encoding (WHATWG HTML, "Server-sent events"), one event per HTTP chunk.
///
/// ```
/// id: k3j9x:17
/// event: greeting
/// data: first line
/// data: second line
///
/// ```
struct SSEEncoder: MessageEncoder {
    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        Self.encodeEvent(message, id: message.position.description, allocator: allocator)
    }

    /// Encodes `message` with an explicit `id` (multi-channel subscriptions carry a compound id).
    static func encodeEvent(_ message: Message, id: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: message.payload.readableBytes + 64)
        ChunkedEncoding.writeChunk(into: &buffer) { buffer in
            buffer.writeStaticString("id: ")
            buffer.writeString(id)
            buffer.writeStaticString("\n")
            if let event = message.eventType {
                buffer.writeStaticString("event: ")
                writeSingleLine(event, into: &buffer)
                buffer.writeStaticString("\n")
            }
            if message.isText {
                writeData(message.payload.readableBytesView, into: &buffer)
            } else {
                // SSE is a text protocol: bytes that are not UTF-8 go out base64-encoded, flagged by a comment.
                buffer.writeStaticString(": base64\n")
                writeData(Base64.encode(message.payload.readableBytesView).utf8, into: &buffer)
            }
            buffer.writeStaticString("\n")
        }
        return buffer
    }

    /// An event of our own (gap, deletion, disconnect): `event: NAME` with JSON data, no id.
    static func encodeNotice(event: String, json: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: json.readableBytes + 64)
        ChunkedEncoding.writeChunk(into: &buffer) { buffer in
            buffer.writeStaticString("event: ")
            buffer.writeString(event)
            buffer.writeStaticString("\n")
            writeData(json.readableBytesView, into: &buffer)
            buffer.writeStaticString("\n")
        }
        return buffer
    }

    /// A comment line: keeps the connection alive without dispatching an event.
    static func encodeComment(_ text: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: text.utf8.count + 16)
        ChunkedEncoding.writeChunk(into: &buffer) { buffer in
            buffer.writeStaticString(": ")
            buffer.writeString(text)
            buffer.writeStaticString("\n\n")
        }
        return buffer
    }

    /// One `data:` line per line of the payload; CR, LF and CRLF all end a line (the SSE parser treats
    /// them alike, so a CR inside a line would otherwise split it). Lines are copied in runs.
    private static func writeData<Bytes: Collection<UInt8>>(_ bytes: Bytes, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("data: ")
        var runStart = bytes.startIndex
        var index = bytes.startIndex
        while index != bytes.endIndex {
            let byte = bytes[index]
            guard byte == 0x0D || byte == 0x0A else {
                bytes.formIndex(after: &index)
                continue
            }
            buffer.writeBytes(bytes[runStart..<index])
            buffer.writeStaticString("\ndata: ")
            bytes.formIndex(after: &index)
            if byte == 0x0D, index != bytes.endIndex, bytes[index] == 0x0A { bytes.formIndex(after: &index) }
            runStart = index
        }
        buffer.writeBytes(bytes[runStart..<index])
        buffer.writeStaticString("\n")
    }

    private static func writeSingleLine(_ text: String, into buffer: inout ByteBuffer) {
        for byte in text.utf8 where byte != 0x0A && byte != 0x0D { buffer.writeInteger(byte) }
    }
}
