import NIOCore

/// The benchmark's message: `SEQ|CHANNEL|SENT_NANOS|` then padding to the requested size, all ASCII so it
/// travels unchanged as a WebSocket text frame, an SSE `data:` line or a long-poll body, and parses
/// without JSON.
enum Payload {
    /// Writes a payload of at least `size` bytes.
    static func make(
        sequence: Int,
        channel: Int,
        sentNanos: UInt64,
        size: Int,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: max(size, 48))
        buffer.writeString("\(sequence)|\(channel)|\(sentNanos)|")
        if buffer.readableBytes < size {
            buffer.writeRepeatingByte(UInt8(ascii: "x"), count: size - buffer.readableBytes)
        }
        return buffer
    }

    /// The three numbers at the start of `bytes`, or `nil` when it is not a benchmark payload.
    @inline(__always)
    static func parse<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> (sequence: Int, channel: Int, sentNanos: UInt64)? {
        var numbers: (UInt64, UInt64, UInt64) = (0, 0, 0)
        var field = 0
        var current: UInt64 = 0
        var digits = 0
        for byte in bytes {
            if byte == UInt8(ascii: "|") {
                guard digits > 0 else { return nil }
                switch field {
                case 0: numbers.0 = current
                case 1: numbers.1 = current
                default:
                    numbers.2 = current
                    return (Int(numbers.0), Int(numbers.1), numbers.2)
                }
                field += 1
                current = 0
                digits = 0
            } else if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                current = current &* 10 &+ UInt64(byte - UInt8(ascii: "0"))
                digits += 1
            } else {
                return nil
            }
        }
        return nil
    }
}
