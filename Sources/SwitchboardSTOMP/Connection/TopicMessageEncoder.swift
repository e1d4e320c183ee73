import NIOCore
import SwitchboardCore

/// Encodes a channel message once per STOMP version as the part of a `MESSAGE` frame that every
/// subscriber shares: every header but `subscription` (and `ack`), the blank line, the body and the NUL.
/// Each subscriber writes its own `MESSAGE\nsubscription:ID\n` in front of it.
struct TopicMessageEncoder: MessageEncoder {
    let escaping: STOMPHeaderEscaping

    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        var buffer = allocator.buffer(
            capacity: 96 + message.channel.rawValue.utf8.count + message.payload.readableBytes
        )
        Self.writeHeaders(
            destination: "/topic/\(message.channel.rawValue)",
            messageID: message.position.description,
            contentType: message.contentType,
            headers: message.headers,
            escaping: escaping,
            into: &buffer
        )
        Self.writeBody(message.payload, into: &buffer)
        return buffer
    }

    /// `content-length`, the blank line, the body and the NUL that end a `MESSAGE`.
    static func writeBody(_ payload: ByteBuffer, into buffer: inout ByteBuffer) {
        STOMPFrameEncoder.writeHeader("content-length", String(payload.readableBytes), escaping: .none, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "\n"))
        buffer.writeImmutableBuffer(payload)
        buffer.writeInteger(UInt8(0))
    }

    /// The headers every `MESSAGE` has (topic or queue), then the publisher's own.
    static func writeHeaders(
        destination: String,
        messageID: String,
        contentType: String?,
        headers: [MessageHeader],
        escaping: STOMPHeaderEscaping,
        into buffer: inout ByteBuffer
    ) {
        STOMPFrameEncoder.writeHeader("destination", destination, escaping: escaping, into: &buffer)
        STOMPFrameEncoder.writeHeader("message-id", messageID, escaping: escaping, into: &buffer)
        if let contentType {
            STOMPFrameEncoder.writeHeader("content-type", contentType, escaping: escaping, into: &buffer)
        }
        for header in headers {
            STOMPFrameEncoder.writeHeader(header.name, header.value, escaping: escaping, into: &buffer)
        }
    }
}
