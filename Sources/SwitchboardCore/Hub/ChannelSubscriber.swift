import NIOCore

/// A connection that receives channel messages. Implementations are confined to one event loop (channel
/// handlers); the hub calls them only on that loop.
public protocol ChannelSubscriber: AnyObject {
    /// A new message on one of the subscriber's subscriptions, in channel order. Write it, and flush when
    /// `flush` is set: it is then the last message of its channel in this batch, so every message written
    /// since the last flush (of any of the subscriber's channels in the batch) goes out in one write.
    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool)
    /// The subscription's channel was deleted; the subscription is already removed from the hub.
    func channelDeleted(_ subscription: Subscription)
    /// Someone joined or left the subscription's channel (only subscribers that show presence care).
    func presenceChanged(_ event: PresenceEvent, on subscription: Subscription)
    /// The subscription's channel moved on without some messages after `from` (the shared engine lost them,
    /// or started a new epoch): tell the client, as a resume with that gap would. Deliveries continue from
    /// ``Subscription/position``.
    func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription)
}

extension ChannelSubscriber {
    /// Presence is not shown by default.
    public func presenceChanged(_ event: PresenceEvent, on subscription: Subscription) {}

    /// A live gap is not shown by default (only a shared engine makes them).
    public func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription) {}
}

/// One subscriber's subscription to one channel. Confined to the subscriber's event loop.
public final class Subscription {
    /// The channel.
    public let channel: ChannelName
    /// The wire format the subscriber wants deliveries encoded in, if any.
    public let format: WireFormat?
    /// The position of the last message delivered (or of the channel when the subscription started).
    public internal(set) var position: StreamPosition
    /// A slot for the subscriber's own bookkeeping (e.g. the index of the channel in a multi-channel list).
    public let tag: Int
    /// Set by the hub when the subscription ends (unsubscribed or channel deleted).
    public internal(set) var isActive = true

    // The cycle subscriber -> subscription -> subscriber is broken when the subscription ends.
    var subscriber: (any ChannelSubscriber)?
    var registryIndex = -1
    /// The channel state it is counted in (a channel deleted and made again is another state).
    var countedIn: ObjectIdentifier?

    init(
        channel: ChannelName,
        format: WireFormat?,
        position: StreamPosition,
        tag: Int,
        subscriber: any ChannelSubscriber
    ) {
        self.channel = channel
        self.format = format
        self.position = position
        self.tag = tag
        self.subscriber = subscriber
    }
}
