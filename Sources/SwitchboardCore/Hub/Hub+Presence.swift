import Synchronization

/// One connection present on a channel.
public struct PresenceMember: Sendable, Equatable {
    /// The connection's id.
    public var clientID: String
    /// The user the connection belongs to, if any.
    public var user: String?
    /// What the client said about itself, as a JSON document, if anything.
    public var info: String?
    /// When it joined, in milliseconds since the Unix epoch.
    public var joinedAt: Int64

    public init(clientID: String, user: String?, info: String?, joinedAt: Int64 = 0) {
        self.clientID = clientID
        self.user = user
        self.info = info
        self.joinedAt = joinedAt
    }
}

/// Someone joined or left a channel: told to the channel's subscribers (``ChannelSubscriber/presenceChanged(_:on:)``).
public struct PresenceEvent: Sendable {
    public enum Kind: String, Sendable {
        case join
        case leave
    }

    public var kind: Kind
    public var channel: ChannelName
    public var member: PresenceMember
}

extension Hub {
    /// Records `member` as present on `channel` and tells the channel's subscribers (on their loops, in
    /// order with the channel's messages). Joining twice with the same client id replaces the entry. The
    /// member subscribed first, so the channel exists; if it was deleted meanwhile, nothing happens.
    public func join(_ member: PresenceMember, channel: ChannelName) {
        let now = clock()
        var member = member
        member.joinedAt = now
        let drains = shard(for: channel).channels.withLock { channels -> [LoopContext] in
            guard let state = channels[channel] else { return [] }
            state.presence[member.clientID] = member
            state.lastActivity = now
            return state.enqueue(
                .presence(PresenceEvent(kind: .join, channel: channel, member: member), epoch: state.epoch)
            )
        }
        for context in drains { context.scheduleDrain() }
    }

    /// Removes the client from `channel`'s presence and tells the subscribers. Nothing if it was not there.
    public func leave(clientID: String, channel: ChannelName) {
        let drains = shard(for: channel).channels.withLock { channels -> [LoopContext] in
            guard let state = channels[channel], let member = state.presence.removeValue(forKey: clientID) else {
                return []
            }
            return state.enqueue(
                .presence(PresenceEvent(kind: .leave, channel: channel, member: member), epoch: state.epoch)
            )
        }
        for context in drains { context.scheduleDrain() }
    }

    /// Who is present on `channel`, in the order they joined; nil when the channel does not exist.
    public func presence(of channel: ChannelName) -> [PresenceMember]? {
        shard(for: channel).channels.withLock { channels in
            channels[channel].map {
                $0.presence.values.sorted { ($0.joinedAt, $0.clientID) < ($1.joinedAt, $1.clientID) }
            }
        }
    }
}
