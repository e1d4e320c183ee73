import Atomics
import NIOCore
import Synchronization

/// A snapshot of one channel, for `GET /pub/{channel}`, `/api/channels` and stats.
public struct ChannelInfo: Sendable {
    /// The channel.
    public var channel: ChannelName
    /// Messages in history.
    public var messages: Int
    /// Current subscribers.
    public var subscribers: Int
    /// The position of the newest message (offset 0 when nothing was published in this epoch).
    public var lastPosition: StreamPosition
    /// The position of the oldest message kept, if any.
    public var firstPosition: StreamPosition?
    /// Messages published in this epoch.
    public var published: Int
}

/// A page of history, for `GET /api/history/{channel}`.
public struct HistoryPage: Sendable {
    /// The messages, oldest first.
    public var messages: [Message]
    /// Set when `since` could not be served exactly.
    public var gap: GapReason?
    /// The channel's newest position.
    public var lastPosition: StreamPosition
    /// Set when the page stops short of `limit` because of its byte limit: ask again from its last id.
    public var truncated = false
}

/// Totals across all channels, for `/stats`.
public struct HubStatistics: Sendable {
    /// Channels that exist.
    public var channels: Int
    /// Subscriptions across all channels.
    public var subscribers: Int
    /// Messages published since start.
    public var published: Int
    /// Messages handed to subscribers since start.
    public var delivered: Int
}

extension Hub {
    /// Information about `channel`, or `nil` when it does not exist.
    public func info(_ channel: ChannelName) -> ChannelInfo? {
        let now = clock()
        return shard(for: channel).channels.withLock { channels in
            guard let state = channels[channel] else { return nil }
            expireHistory(of: state, now: now)
            return Self.info(channel, state)
        }
    }

    /// Every channel, sorted by name.
    public func allChannels() -> [ChannelInfo] {
        let now = clock()
        var result: [ChannelInfo] = []
        for shard in shards {
            shard.channels.withLock { channels in
                for (name, state) in channels {
                    expireHistory(of: state, now: now)
                    result.append(Self.info(name, state))
                }
            }
        }
        return result.sorted { $0.channel < $1.channel }
    }

    /// History of `channel` after `since` (everything kept when `nil`), at most `limit` messages whose
    /// payloads add up to at most `maxBytes` (at least one message); `nil` when the channel does not exist.
    public func history(
        of channel: ChannelName,
        since: StreamPosition?,
        limit: Int,
        maxBytes: Int = .max
    ) -> HistoryPage? {
        let now = clock()
        return shard(for: channel).channels.withLock { channels in
            guard let state = channels[channel] else { return nil }
            return historyPage(of: state, since: since, limit: limit, maxBytes: maxBytes, now: now)
        }
    }

    /// The page of `state`'s history after `since`. Under the shard's lock, or on a detached state (a
    /// snapshot read from the engine: its bytes were never taken from the budget, so are not given back).
    func historyPage(
        of state: ChannelState,
        since: StreamPosition?,
        limit: Int,
        maxBytes: Int,
        now: Int64,
        detached: Bool = false
    ) -> HistoryPage {
        if detached { state.history.expire(now: now) } else { expireHistory(of: state, now: now) }
        let start = since ?? StreamPosition(epoch: state.epoch, offset: 0)
        let resume = state.history.resume(
            from: start,
            epoch: state.epoch,
            lastOffset: state.lastOffset,
            fence: state.fence,
            limit: limit
        )
        var messages = resume.messages
        var bytes = 0
        if let cut = messages.indices.first(where: { index in
            bytes += messages[index].payload.readableBytes
            return index > 0 && bytes > maxBytes
        }) {
            messages.removeSubrange(cut...)
        }
        return HistoryPage(
            messages: messages,
            gap: since == nil ? nil : resume.gap,
            lastPosition: resume.position,
            truncated: messages.count < resume.messages.count
        )
    }

    /// Deletes `channel` and its history; its subscribers are told (``ChannelSubscriber/channelDeleted(_:)``)
    /// after every message queued for them. Returns how many subscribers it had, or `nil` if it did not exist.
    public func deleteChannel(_ channel: ChannelName) -> Int? {
        guard let state = shard(for: channel).channels.withLock({ $0.removeValue(forKey: channel) }) else {
            return nil
        }
        channelCount.wrappingDecrement(ordering: .relaxed)
        memory.release(state.history.bytes, for: .history)
        for loop in state.loops {
            loop.context.enqueue(.channelDeleted(channel, epoch: state.epoch))
        }
        return state.subscriberCount
    }

    /// Drops expired history, and channels left with neither history nor subscribers for longer than the
    /// retention time. Call periodically.
    public func sweep() {
        let now = clock()
        let retention = configuration.channelRetentionMilliseconds
        var expired: [ChannelName] = []
        for shard in shards {
            shard.channels.withLock { channels in
                for (name, state) in channels {
                    expireHistory(of: state, now: now)
                    if state.isUnused && now - state.lastActivity >= retention { expired.append(name) }
                }
                for name in expired { channels[name] = nil }
                channelCount.wrappingDecrement(by: expired.count, ordering: .relaxed)
            }
            expired.removeAll(keepingCapacity: true)
        }
    }

    /// Totals across all channels.
    public func statistics() -> HubStatistics {
        var channelCount = 0
        var subscribers = 0
        for shard in shards {
            shard.channels.withLock { channels in
                channelCount += channels.count
                for state in channels.values { subscribers += state.subscriberCount }
            }
        }
        let delivered = loopContexts.withLock {
            $0.values.reduce(0) { $0 + $1.deliveredCount.load(ordering: .relaxed) }
        }
        return HubStatistics(
            channels: channelCount,
            subscribers: subscribers,
            published: publishedCount.load(ordering: .relaxed),
            delivered: delivered
        )
    }

    static func info(_ name: ChannelName, _ state: ChannelState) -> ChannelInfo {
        ChannelInfo(
            channel: name,
            messages: state.history.count,
            subscribers: state.subscriberCount,
            lastPosition: StreamPosition(epoch: state.epoch, offset: state.lastOffset),
            firstPosition: state.history.first?.position,
            published: state.publishedCount
        )
    }
}
