import NIOCore
import SwitchboardCore
import SwitchboardHTTP

/// Encodes a channel message once as the native protocol's push, a WebSocket text frame every native
/// subscriber of the channel shares: `{"push":"message","channel":"chat","id":"EPOCH:OFFSET","time":...,
/// "event":...,"content_type":...,"data":...}`.
struct NativePushEncoder: MessageEncoder {
    /// WebSocket frames, or Server-Sent Events for the fallback transport.
    let framing: NativeFraming

    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        var json = JSONWriter(allocator: allocator, capacity: 128 + message.payload.readableBytes)
        json.beginObject()
        json.string("push", "message")
        Self.writeFields(of: message, into: &json)
        json.endObject()
        return framing.frame(json.buffer, allocator: allocator)
    }

    /// A message's fields (in pushes, and in the publications of subscribe and history replies).
    static func writeFields(of message: Message, into json: inout JSONWriter) {
        json.string("channel", message.channel.rawValue)
        json.string("id", message.position.description)
        json.int64("time", message.timestamp)
        if let event = message.eventType { json.string("event", event) }
        if let contentType = message.contentType { json.string("content_type", contentType) }
        JSONPublishFields.writePayload(of: message, into: &json)
    }
}
