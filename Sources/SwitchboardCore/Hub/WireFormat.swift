public import NIOCore

/// Turns a message into the bytes one wire format sends, once per message, for every subscriber of that
/// format ("encode once" fan-out).
public protocol MessageEncoder: Sendable {
    /// Encodes `message` into a new buffer from `allocator`.
    func encode(_ message: Message, allocator: ByteBufferAllocator) -> ByteBuffer
}

/// A handle to an encoder registered with the hub; subscribers name their wire format with it.
public struct WireFormat: Hashable, Sendable {
    let index: Int
}

/// The encoders a hub knows, registered before the hub is built (front ends register theirs at start-up).
public struct WireFormatRegistry: Sendable {
    private(set) var encoders: [any MessageEncoder] = []

    /// Creates an empty registry.
    public init() {}

    /// Adds an encoder and returns the handle its subscribers use.
    public mutating func register(_ encoder: any MessageEncoder) -> WireFormat {
        encoders.append(encoder)
        return WireFormat(index: encoders.count - 1)
    }
}

/// A published message on its way to subscribers, with its encodings for every wire format in use.
public final class Delivery: Sendable {
    /// The message.
    public let message: Message
    private let encodings: [ByteBuffer?]
    private let encoders: [any MessageEncoder]

    init(message: Message, formatsInUse: [Int], encoders: [any MessageEncoder], allocator: ByteBufferAllocator) {
        self.message = message
        self.encoders = encoders
        var encodings = [ByteBuffer?](repeating: nil, count: encoders.count)
        for (index, count) in formatsInUse.enumerated() where count > 0 {
            encodings[index] = encoders[index].encode(message, allocator: allocator)
        }
        self.encodings = encodings
    }

    /// The message in `format`: the shared encoding, or — for a subscriber that arrived after the message
    /// was encoded — a fresh one.
    public func encoded(_ format: WireFormat, allocator: @autoclosure () -> ByteBufferAllocator) -> ByteBuffer {
        encodings[format.index] ?? encoders[format.index].encode(message, allocator: allocator())
    }
}
