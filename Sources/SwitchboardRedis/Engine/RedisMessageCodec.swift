public import NIOCore
public import SwitchboardCore

/// How a message is stored in a channel's Redis stream and sent on its pub/sub channel: one blob with
/// everything but the position (which the stream entry's id, or the pub/sub prefix, carries).
///
/// ```
/// blob := version=1 | timestamp: Int64 BE | content type | event type | header count | (name | value)* | payload
/// each text := length: UInt32 BE | UTF-8 bytes          (the payload is the rest, as is)
/// ```
///
/// Binary and length-prefixed so a payload is never escaped or scanned; versioned so a node of a later
/// release can still read what an earlier one stored.
public enum RedisMessageCodec {
    static let version: UInt8 = 1

    /// The blob for `request`, published at `timestamp`.
    public static func encode(_ request: PublishRequest, timestamp: Int64, allocator: ByteBufferAllocator) -> ByteBuffer
    {
        var blob = allocator.buffer(capacity: 32 + request.payload.readableBytes)
        blob.writeInteger(version)
        blob.writeInteger(timestamp)
        writeText(request.contentType ?? "", to: &blob)
        writeText(request.eventType ?? "", to: &blob)
        blob.writeInteger(UInt32(request.headers.count))
        for header in request.headers {
            writeText(header.name, to: &blob)
            writeText(header.value, to: &blob)
        }
        blob.writeImmutableBuffer(request.payload)
        return blob
    }

    /// The message in `blob`, at `position` of `channel`; nil when the blob is not one this codec wrote.
    public static func decode(_ blob: ByteBuffer, channel: ChannelName, position: StreamPosition) -> Message? {
        var blob = blob
        guard blob.readInteger(as: UInt8.self) == version, let timestamp = blob.readInteger(as: Int64.self),
            let contentType = readText(from: &blob), let eventType = readText(from: &blob),
            let headerCount = blob.readInteger(as: UInt32.self), headerCount <= 1024
        else { return nil }
        var headers: [MessageHeader] = []
        for _ in 0..<headerCount {
            guard let name = readText(from: &blob), let value = readText(from: &blob) else { return nil }
            headers.append(MessageHeader(name: name, value: value))
        }
        return Message(
            channel: channel,
            position: position,
            // A slice of a read buffer: history must not pin the rest of it.
            payload: Hub.detached(blob),
            contentType: contentType.isEmpty ? nil : contentType,
            eventType: eventType.isEmpty ? nil : eventType,
            headers: headers,
            timestamp: timestamp
        )
    }

    private static func writeText(_ text: String, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt32(text.utf8.count))
        buffer.writeString(text)
    }

    private static func readText(from buffer: inout ByteBuffer) -> String? {
        guard let length = buffer.readInteger(as: UInt32.self), let text = buffer.readString(length: Int(length)) else {
            return nil
        }
        return text
    }
}
