public import NIOCore

/// The start of a frame whose rest has not arrived yet, kept between reads by a connection that parses
/// its own frames.
public struct PartialInput: Sendable {
    private var pending: ByteBuffer?

    /// Nothing kept.
    public init() {}

    /// Whether nothing is kept.
    public var isEmpty: Bool { pending == nil }

    /// `buffer`, with what was kept from earlier reads in front of it.
    public mutating func joined(with buffer: ByteBuffer) -> ByteBuffer {
        guard var previous = pending else { return buffer }
        pending = nil
        var buffer = buffer
        previous.writeBuffer(&buffer)
        return previous
    }

    /// Keeps what is left unread in `buffer` for the next read. A copy of just those bytes: a partly
    /// received frame must not pin a whole (possibly large) read buffer.
    public mutating func keep(_ buffer: inout ByteBuffer, allocator: ByteBufferAllocator) {
        guard buffer.readableBytes > 0 else { return }
        var copy = allocator.buffer(capacity: buffer.readableBytes)
        copy.writeBuffer(&buffer)
        pending = copy
    }

    /// Drops what was kept.
    public mutating func clear() {
        pending = nil
    }
}
