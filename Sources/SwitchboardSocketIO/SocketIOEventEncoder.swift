import NIOCore
import NIOWebSocket
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// Encodes a channel message once, for every Socket.IO socket of one namespace in the message's room, as
/// the Engine.IO WebSocket frames of the event `message` (or the message's event type):
/// `42/nsp,["message",{"channel":"X","id":"EPOCH:N","data":...}]`. `data` is the JSON value when the
/// payload is JSON, else the text; a binary payload is an attachment (`451-...` and a binary frame).
/// With connection state recovery on, the event has a last argument: its offset (``offset(of:)``).
/// Polling sessions read the same frames back (``EngineIOFrames``).
struct SocketIOEventEncoder: MessageEncoder {
    let namespace: String
    let includesOffset: Bool

    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer {
        let binary = !message.isText
        var text = allocator.buffer(capacity: 96 + message.payload.readableBytes)
        text.writeStaticString(binary ? "51-" : "2")  // the Socket.IO packet; Engine.IO adds its "4"
        if namespace != "/" {
            text.writeString(namespace)
            text.writeStaticString(",")
        }
        text.writeStaticString("[")
        JSONWriter.writeString(Self.eventName(of: message), into: &text)
        text.writeStaticString(",{\"channel\":")
        JSONWriter.writeString(message.channel.rawValue, into: &text)
        text.writeStaticString(",\"id\":")
        JSONWriter.writeString(message.position.description, into: &text)
        text.writeStaticString(",\"data\":")
        if binary {
            text.writeStaticString("{\"_placeholder\":true,\"num\":0}")
        } else if JSONPublishFields.isJSONDocument(message) {
            text.writeImmutableBuffer(message.payload)
        } else {
            JSONWriter.writeString(String(buffer: message.payload), into: &text)
        }
        text.writeStaticString("}")
        if includesOffset {
            text.writeStaticString(",")
            JSONWriter.writeString(Self.offset(of: message), into: &text)
        }
        text.writeStaticString("]")
        var frames = allocator.buffer(capacity: text.readableBytes + 16 + (binary ? message.payload.readableBytes : 0))
        frames.writeImmutableBuffer(
            EngineIOPacket(.message, payload: text).webSocketFrame(allocator: allocator)
        )
        if binary {
            WebSocketFrameWriter.writeHeader(opcode: .binary, length: message.payload.readableBytes, into: &frames)
            frames.writeImmutableBuffer(message.payload)
        }
        return frames
    }

    /// The event a message arrives as: its event type, unless that is missing or reserved.
    static func eventName(of message: Message) -> String {
        guard let event = message.eventType, !event.isEmpty, !SocketIOPacket.reservedEvents.contains(event) else {
            return "message"
        }
        return event
    }

    /// The recovery offset of a message: `"<channel> <epoch>:<offset>"` (a space is in no channel name).
    static func offset(of message: Message) -> String {
        message.channel.rawValue + " " + message.position.description
    }
}
