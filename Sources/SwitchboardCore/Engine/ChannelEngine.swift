public import NIOCore

/// Where channels live when several nodes share them (the Redis engine): the hub of each node becomes a
/// mirror of the channels its own subscribers use, and every publish goes through the engine, which
/// assigns the position and fans the message out to every attached node.
///
/// Without an engine (`engine.type = "memory"`), the hub is the one store and nothing here is used.
/// What the engine tells the hub — a message of an attached channel, a deletion, the link's state —
/// arrives through ``Hub/ingest(_:)``, ``Hub/engineDeleted(_:epoch:)``, ``Hub/engineLinkUp()`` and
/// ``Hub/engineLinkDown(reason:)``.
public protocol ChannelEngine: Sendable {
    /// Stores and fans out `request`; the future has the stored message with its position. A failed
    /// publish stored nothing, unless the link broke while it was on its way.
    func publish(_ request: PublishRequest, to channel: ChannelName) -> EventLoopFuture<Message>
    /// Starts receiving `channel`'s messages (completes once they are flowing).
    func attach(_ channel: ChannelName) -> EventLoopFuture<Void>
    /// Stops receiving `channel`'s messages.
    func detach(_ channel: ChannelName)
    /// The stored messages of `channel` (the newest `limit`, oldest first) and its head.
    func history(of channel: ChannelName, limit: Int) -> EventLoopFuture<StoredPage>
    /// The heads of `channels`, in order.
    func heads(_ channels: [ChannelName]) -> EventLoopFuture<[ChannelHead]>
    /// Deletes `channel` for every node; true when it existed.
    func delete(_ channel: ChannelName) -> EventLoopFuture<Bool>
    /// Why publishes are refused now (nil when they are accepted), for `/healthz`.
    var unavailableReason: String? { get }
}

/// A channel's state in the engine: its epoch and last offset, and the fence of its last failover.
public struct ChannelHead: Sendable, Equatable {
    /// The epoch; nil when the engine has no such channel (never published to, deleted, expired or lost).
    public var epoch: String?
    /// The last offset published (0 when none).
    public var offset: UInt64
    /// The epoch before the last fence (a change of primary that may have lost the newest writes), and the
    /// last offset of it the engine still holds: positions of that epoch up to it are exact, beyond it they
    /// may name lost messages. Offsets continue across a fence, so none is ever reused.
    public var fencedEpoch: String?
    public var fenceOffset: UInt64

    public init(epoch: String?, offset: UInt64, fencedEpoch: String? = nil, fenceOffset: UInt64 = 0) {
        self.epoch = epoch
        self.offset = offset
        self.fencedEpoch = fencedEpoch
        self.fenceOffset = fenceOffset
    }

    /// The epoch a stored message at `offset` was published under.
    public func epoch(ofEntryAt offset: UInt64) -> String? {
        if let fencedEpoch, offset <= fenceOffset { return fencedEpoch }
        return epoch
    }
}

/// Stored messages read from the engine, with the head they were read against.
public struct StoredPage: Sendable {
    public var head: ChannelHead
    /// The messages, oldest first, each at the position it was published at.
    public var messages: [Message]

    public init(head: ChannelHead, messages: [Message]) {
        self.head = head
        self.messages = messages
    }
}
