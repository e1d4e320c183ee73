import NIOCore
import SwitchboardCore

/// The chunked-stream format: every message is one HTTP chunk made from a template, as the nginx push
/// stream module's `push_stream_message_template` does.
///
/// Placeholders: `~id~`, `~channel~`, `~event-type~`, `~content-type~`, `~time~` (ms since the Unix epoch)
/// and `~text~` (the payload). The template is parsed once, at start-up, into literal and placeholder parts.
struct StreamTemplateEncoder: MessageEncoder {
    enum Part: Equatable, Sendable {
        case literal([UInt8])
        case id, channel, eventType, contentType, time, text
    }

    let parts: [Part]

    init(template: String) {
        self.parts = Self.parse(template)
    }

    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        render(
            id: message.position.description,
            channel: message.channel.rawValue,
            eventType: message.eventType ?? "",
            contentType: message.contentType ?? "",
            time: message.timestamp,
            text: message.payload,
            allocator: allocator
        )
    }

    /// Renders the template with explicit values (for keep-alives and notices).
    func render(
        id: String,
        channel: String,
        eventType: String,
        contentType: String,
        time: Int64,
        text: ByteBuffer,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: text.readableBytes + 64)
        ChunkedEncoding.writeChunk(into: &buffer) { buffer in
            for part in parts {
                switch part {
                case .literal(let bytes): buffer.writeBytes(bytes)
                case .id: buffer.writeString(id)
                case .channel: buffer.writeString(channel)
                case .eventType: buffer.writeString(eventType)
                case .contentType: buffer.writeString(contentType)
                case .time: buffer.writeString(String(time))
                case .text: buffer.writeImmutableBuffer(text)
                }
            }
        }
        return buffer
    }

    static func parse(_ template: String) -> [Part] {
        let placeholders: [(String, Part)] = [
            ("~id~", .id), ("~channel~", .channel), ("~event-type~", .eventType),
            ("~content-type~", .contentType), ("~time~", .time), ("~text~", .text),
        ]
        var parts: [Part] = []
        var literal: [UInt8] = []
        var rest = Substring(template)
        outer: while !rest.isEmpty {
            for (token, part) in placeholders where rest.hasPrefix(token) {
                if !literal.isEmpty { parts.append(.literal(literal)) }
                literal = []
                parts.append(part)
                rest = rest.dropFirst(token.count)
                continue outer
            }
            literal.append(contentsOf: String(rest.first!).utf8)
            rest = rest.dropFirst()
        }
        if !literal.isEmpty { parts.append(.literal(literal)) }
        return parts
    }
}
