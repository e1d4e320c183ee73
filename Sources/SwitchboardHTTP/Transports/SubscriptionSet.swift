import NIOCore
import SwitchboardCore

/// The subscriptions of one subscriber connection (one per channel of `/sub/a,b,c`) and its position in
/// each: what a transport needs to subscribe, resume, label messages with ids and unsubscribe.
struct SubscriptionSet {
    struct Gap {
        var channel: ChannelName
        var reason: GapReason
        var requested: StreamPosition
        var firstDelivered: StreamPosition?
    }

    let channels: [ChannelName]
    private(set) var subscriptions: [Subscription] = []
    /// The position of the last message written to the client, per channel.
    private(set) var cursor: [StreamPosition] = []

    init(channels: [ChannelName]) {
        self.channels = channels
    }

    var isMultiChannel: Bool { channels.count > 1 }

    /// The client's position: `EPOCH:OFFSET` per channel, comma-separated in subscription order.
    var compoundPosition: String {
        cursor.map(\.description).joined(separator: ",")
    }

    /// Subscribes to every channel. Returns the missed messages of all channels merged by publication time
    /// (each channel's own order kept) and the gaps that could not be filled. The missed messages are an
    /// answer to the request: each channel's are cut to its share of `maxBytes` (a `too-large` gap says
    /// so). When a channel may not be created, nothing stays subscribed and the refusal is thrown.
    mutating func subscribe(
        _ subscriber: any ChannelSubscriber,
        hub: Hub,
        positions: [StreamPosition?],
        format: WireFormat?,
        maxBytes: Int,
        on eventLoop: any EventLoop
    ) throws(HubRefusal) -> (backlog: [Message], gaps: [Gap]) {
        var backlog: [Message] = []
        var gaps: [Gap] = []
        let share = maxBytes / max(1, channels.count)
        for (index, channel) in channels.enumerated() {
            let subscription: Subscription
            var resume: ResumeResult
            do {
                (subscription, resume) = try hub.subscribe(
                    subscriber,
                    to: channel,
                    from: positions[index],
                    format: format,
                    tag: index,
                    on: eventLoop
                )
            } catch {
                unsubscribeAll(hub: hub, on: eventLoop)
                throw error
            }
            resume = resume.limited(toBytes: share)
            subscriptions.append(subscription)
            if let first = resume.messages.first {
                cursor.append(StreamPosition(epoch: first.position.epoch, offset: first.position.offset - 1))
            } else {
                cursor.append(resume.position)
            }
            if let reason = resume.gap, let requested = positions[index] {
                gaps.append(
                    Gap(
                        channel: channel,
                        reason: reason,
                        requested: requested,
                        firstDelivered: resume.messages.first?.position
                    )
                )
            }
            backlog.append(contentsOf: resume.messages)
        }
        if channels.count > 1 {
            // Sorting is stable, so messages of one channel keep their order even with equal timestamps.
            backlog = backlog.enumerated().sorted {
                ($0.element.timestamp, $0.offset) < ($1.element.timestamp, $1.offset)
            }
            .map(\.element)
        }
        return (backlog, gaps)
    }

    /// Records that `message` (from channel number `tag`) was written to the client.
    mutating func advance(to message: Message, tag: Int) {
        cursor[tag] = message.position
    }

    /// Records that channel number `tag` moved on to `position` without messages in between (a live gap).
    mutating func move(tag: Int, to position: StreamPosition) {
        cursor[tag] = position
    }

    /// The channel index of `channel` in this set.
    func index(of channel: ChannelName) -> Int? {
        channels.firstIndex(of: channel)
    }

    /// Ends every subscription (idempotent).
    mutating func unsubscribeAll(hub: Hub, on eventLoop: any EventLoop) {
        for subscription in subscriptions { hub.unsubscribe(subscription, on: eventLoop) }
        subscriptions.removeAll()
    }
}
