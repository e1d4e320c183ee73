public import NIOCore

/// One published message, as stored in history and handed to every subscriber.
///
/// A class so that history, deliveries and every subscriber share one copy: fan-out to N subscribers
/// retains one reference, it never copies the payload.
public final class Message: Sendable {
    /// The channel it was published to.
    public let channel: ChannelName
    /// Its position: unique and ordered within the channel.
    public let position: StreamPosition
    /// The payload bytes, exactly as published.
    public let payload: ByteBuffer
    /// The publisher's `Content-Type`, if any.
    public let contentType: String?
    /// The publisher's event type (`Event-Type` header, SSE `event:`), if any.
    public let eventType: String?
    /// Publication time in milliseconds since the Unix epoch.
    public let timestamp: Int64
    /// Whether the payload is valid UTF-8 (decided once, at publication).
    public let isText: Bool
    /// The publisher's own headers (a STOMP `SEND`'s custom headers), passed on by protocols that carry them.
    public let headers: [MessageHeader]
    /// The bytes the message costs while history keeps it (``MemoryBudget/cost(payload:contentType:eventType:headers:)``).
    public let retainedBytes: Int

    /// Creates a message; `isText` is computed from the payload.
    public init(
        channel: ChannelName,
        position: StreamPosition,
        payload: ByteBuffer,
        contentType: String?,
        eventType: String?,
        headers: [MessageHeader] = [],
        timestamp: Int64
    ) {
        self.channel = channel
        self.headers = headers
        self.position = position
        self.payload = payload
        self.contentType = contentType
        self.eventType = eventType
        self.timestamp = timestamp
        self.isText =
            payload.readableBytesView.withContiguousStorageIfAvailable { UTF8Validation.isValid($0) }
            ?? UTF8Validation.isValid(Array(payload.readableBytesView))
        self.retainedBytes = MemoryBudget.cost(
            payload: payload.readableBytes,
            contentType: contentType,
            eventType: eventType,
            headers: headers
        )
    }

    /// The payload as a string when it is UTF-8 text.
    public var text: String? {
        isText ? String(buffer: payload) : nil
    }
}

/// What a publisher hands to the hub: everything of a ``Message`` except what the hub assigns.
public struct PublishRequest: Sendable {
    /// The payload bytes.
    public var payload: ByteBuffer
    /// The `Content-Type` to keep with the payload.
    public var contentType: String?
    /// An event type (SSE `event:`), if any.
    public var eventType: String?
    /// The publisher's own headers, kept with the message.
    public var headers: [MessageHeader]
    /// Who publishes, for the memory budget: a client's message is refused sooner than the back end's.
    public var source: MemoryBudget.Source = .backend

    /// Creates a request.
    public init(
        payload: ByteBuffer,
        contentType: String? = nil,
        eventType: String? = nil,
        headers: [MessageHeader] = []
    ) {
        self.payload = payload
        self.contentType = contentType
        self.eventType = eventType
        self.headers = headers
    }
}

/// A header a publisher attached to a message (name and value as given).
public struct MessageHeader: Sendable, Equatable {
    /// The header name.
    public var name: String
    /// The header value.
    public var value: String

    /// Creates a header.
    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}
