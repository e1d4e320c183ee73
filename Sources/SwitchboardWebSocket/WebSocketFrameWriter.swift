package import NIOCore
package import NIOWebSocket
import SwitchboardCore

/// Writes server-to-client WebSocket frames (RFC 6455 §5.2): never masked, always final.
///
/// Written by hand rather than through NIO's frame encoder so that a message's whole frame — header and
/// payload — is encoded once and the same buffer is written to every subscriber.
package enum WebSocketFrameWriter {
    package static func frame(
        opcode: WebSocketOpcode,
        payload: ByteBuffer,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: payload.readableBytes + 10)
        writeHeader(opcode: opcode, length: payload.readableBytes, into: &buffer)
        buffer.writeImmutableBuffer(payload)
        return buffer
    }

    package static func writeHeader(opcode: WebSocketOpcode, length: Int, into buffer: inout ByteBuffer) {
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
    package static func closeReply(echoing code: UInt16?, allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 2)
        if let code { payload.writeInteger(code) }
        return frame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }

    /// A close frame with `code` and a reason cut to fit the 125-byte control frame limit (RFC 6455 §5.5).
    package static func closeFrame(code: UInt16, reason: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var payload = allocator.buffer(capacity: 125)
        payload.writeInteger(code)
        var reasonBytes = Array(reason.utf8.prefix(123))
        while !UTF8Validation.isValid(reasonBytes) { reasonBytes.removeLast() }
        payload.writeBytes(reasonBytes)
        return frame(opcode: .connectionClose, payload: payload, allocator: allocator)
    }
}
