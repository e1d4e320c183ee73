public import NIOCore
public import SwitchboardCore

/// A message stored in a queue until one consumer has it (and, with client acks, acknowledged it).
public struct QueuedMessage: Sendable {
    /// Its number in the queue (unique per queue).
    public var sequence: UInt64
    public var payload: ByteBuffer
    public var contentType: String?
    public var headers: [MessageHeader]
    /// Set when the message goes back to the queue after a delivery that was not acknowledged.
    public var redelivered = false

    /// The bytes it counts against the queue's memory bound.
    var size: Int { payload.readableBytes }
    /// The bytes it counts against the server's memory budget (`limits.max_memory`) while it is held.
    var retainedBytes: Int {
        MemoryBudget.cost(payload: payload.readableBytes, contentType: contentType, eventType: nil, headers: headers)
    }
}

/// One delivery of a queued message to a consumer: the tag that acknowledges it and the message.
public struct QueueDelivery: Sendable {
    public var tag: UInt64
    public var message: QueuedMessage
}
