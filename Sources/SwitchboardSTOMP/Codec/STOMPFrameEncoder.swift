public import NIOCore

/// Writes STOMP frames. Server frames always state their `content-length` when they have a body, so a
/// body may contain NULs.
public enum STOMPFrameEncoder {
    /// Appends `frame` to `buffer`, escaping header values as `escaping` says (pass `.none` for CONNECTED).
    public static func write(_ frame: STOMPFrame, escaping: STOMPHeaderEscaping, into buffer: inout ByteBuffer) {
        buffer.writeString(frame.command)
        buffer.writeInteger(UInt8(ascii: "\n"))
        for header in frame.headers {
            writeHeader(header.name, header.value, escaping: escaping, into: &buffer)
        }
        if frame.body.readableBytes > 0 || frame.command == "MESSAGE" || frame.command == "ERROR" {
            writeHeader("content-length", String(frame.body.readableBytes), escaping: .none, into: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "\n"))
        var body = frame.body
        buffer.writeBuffer(&body)
        buffer.writeInteger(UInt8(0))
    }

    /// Appends one `name:value` line.
    @inline(__always)
    public static func writeHeader(
        _ name: String,
        _ value: String,
        escaping: STOMPHeaderEscaping,
        into buffer: inout ByteBuffer
    ) {
        buffer.writeString(escaping.escape(name))
        buffer.writeInteger(UInt8(ascii: ":"))
        buffer.writeString(escaping.escape(value))
        buffer.writeInteger(UInt8(ascii: "\n"))
    }

    /// The bytes of `frame`.
    public static func encode(_ frame: STOMPFrame, escaping: STOMPHeaderEscaping) -> ByteBuffer {
        var buffer = ByteBufferAllocator().buffer(capacity: 64 + frame.body.readableBytes)
        write(frame, escaping: escaping, into: &buffer)
        return buffer
    }
}
