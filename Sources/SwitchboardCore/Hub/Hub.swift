import Atomics
public import NIOCore
import Synchronization

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The hub: channels, their history and positions, and fan-out of every message to every subscriber, on
/// the subscriber's own event loop.
///
/// Channel state lives in shards, each a lock around a dictionary, so publishes to different channels
/// rarely meet. A publish takes its channel's lock once to assign the position, store the message and
/// learn which event loops have subscribers; it then hands the message to each of those loops' inboxes
/// (``LoopContext``). No lock is taken per subscriber and no task is created per delivery.
public final class Hub: Sendable {
    /// The hub's limits.
    public struct Configuration: Sendable {
        /// Messages kept per channel.
        public var historySize: Int
        /// How long a message is kept, in milliseconds.
        public var historyTTLMilliseconds: Int64

        /// How long a channel with neither subscribers nor history is remembered after its last activity.
        /// Keeping it keeps its epoch, so a client polling an idle channel is not told of a gap that is not
        /// there; after this, a returning client is told (`new-epoch`), since nothing proves it missed nothing.
        public var channelRetentionMilliseconds: Int64

        /// Most channels at once (`limits.max_channels`): a publish or subscription that would create one
        /// more takes the place of a channel that holds nothing (no subscribers, no history), or is refused.
        public var maxChannels: Int

        /// Creates a configuration; the defaults are 100 messages, one hour, five minutes' retention and
        /// 100,000 channels.
        public init(
            historySize: Int = 100,
            historyTTLMilliseconds: Int64 = 3_600_000,
            channelRetentionMilliseconds: Int64 = 300_000,
            maxChannels: Int = 100_000
        ) {
            self.historySize = historySize
            self.historyTTLMilliseconds = historyTTLMilliseconds
            self.channelRetentionMilliseconds = channelRetentionMilliseconds
            self.maxChannels = maxChannels
        }
    }

    struct LoopSubscriberCount {
        let context: LoopContext
        var count: Int
    }

    /// One channel's state. A class, only ever touched under its shard's lock: mutated in place, never
    /// copied (a struct in the dictionary was copied — history, lists and all — by every read).
    final class ChannelState {
        /// The epoch. Changes only on a mirror, when the engine's channel starts a new one.
        var epoch: String
        var lastOffset: UInt64 = 0
        var history: MessageHistory
        var loops: [LoopSubscriberCount] = []
        var formatCounts: [Int]
        var subscriberCount = 0
        var publishedCount = 0
        /// Who is present (native-protocol connections on channels that track presence), by client id.
        var presence: [String: PresenceMember] = [:]
        /// The last publish, subscribe or unsubscribe, in milliseconds since the Unix epoch.
        var lastActivity: Int64
        /// With an engine: where this mirror of the engine's channel stands (``Hub+Mirror``).
        var mirror = MirrorState.notMirrored
        /// With an engine: messages received ahead of the next expected offset (or while the mirror is being
        /// filled), by offset.
        var reorder: [UInt64: Message] = [:]
        /// With an engine: what waits for the mirror to be filled.
        var waiters: [MirrorWaiter] = []
        /// With an engine: callers of ``Hub/whenReady(_:on:_:refused:)`` about to subscribe; the mirror stays
        /// while any holds it, even with no subscriber yet.
        var holds = 0
        /// With an engine: the epoch before the channel's last fence and its last offset (``ChannelHead``).
        var fence: StreamPosition?

        init(epoch: String, history: MessageHistory, formatCounts: [Int], lastActivity: Int64) {
            self.epoch = epoch
            self.history = history
            self.formatCounts = formatCounts
            self.lastActivity = lastActivity
        }

        /// Nothing to keep but the epoch: no subscribers (nor any waiting for a mirror), no history.
        var isUnused: Bool { subscriberCount == 0 && history.isEmpty && waiters.isEmpty && holds == 0 }

        /// Queues `event` in the inbox of every loop with subscribers of the channel. Call under the shard's
        /// lock, so that events reach every loop in the order the channel saw them; returns the loops whose
        /// drain the caller schedules once the lock is released (waking a loop is a syscall).
        func enqueue(_ event: LoopContext.Event) -> [LoopContext] {
            var drains: [LoopContext] = []
            for target in loops where target.context.append(event) { drains.append(target.context) }
            return drains
        }
    }

    final class Shard: Sendable {
        let channels = Mutex<[ChannelName: ChannelState]>([:])
    }

    let configuration: Configuration
    let encoders: [any MessageEncoder]
    let shards: [Shard]
    let loopContexts = Mutex<[ObjectIdentifier: LoopContext]>([:])
    /// Wall-clock milliseconds since the Unix epoch, as the hub sees them.
    public let clock: @Sendable () -> Int64
    let makeEpoch: @Sendable () -> String
    let allocator = ByteBufferAllocator()
    let publishedCount = ManagedAtomic<Int>(0)
    let channelCount = ManagedAtomic<Int>(0)
    /// The server-wide budget that history's bytes count against.
    public let memory: MemoryBudget
    /// The engine the channels live in when nodes share them; nil for the embedded memory engine, where the
    /// hub itself is the store.
    public let engine: (any ChannelEngine)?

    /// Creates a hub.
    ///
    /// - Parameters:
    ///   - clock: wall-clock milliseconds since the Unix epoch (injected so tests control history age).
    ///   - makeEpoch: a new channel epoch (injected so tests can make it predictable).
    ///   - engine: where channels live when several nodes share them (nil: this hub is the store).
    public init(
        configuration: Configuration = .init(),
        formats: WireFormatRegistry = .init(),
        memory: MemoryBudget = MemoryBudget(limit: 0),
        engine: (any ChannelEngine)? = nil,
        clock: @escaping @Sendable () -> Int64 = WallClock.milliseconds,
        makeEpoch: @escaping @Sendable () -> String = {
            var generator = SystemRandomNumberGenerator()
            return StreamPosition.makeEpoch(using: &generator)
        }
    ) {
        self.configuration = configuration
        self.memory = memory
        self.engine = engine
        self.encoders = formats.encoders
        self.shards = (0..<64).map { _ in Shard() }
        self.clock = clock
        self.makeEpoch = makeEpoch
    }

    func shard(for channel: ChannelName) -> Shard {
        var hasher = Hasher()
        hasher.combine(channel)
        return shards[Int(UInt(bitPattern: hasher.finalize()) % UInt(shards.count))]
    }

    /// The state of `channel`, created if it does not exist and `maxChannels` allows. Call under the
    /// shard's lock.
    func state(
        of channel: ChannelName,
        in channels: inout [ChannelName: ChannelState],
        now: Int64
    ) throws(HubRefusal) -> ChannelState {
        if let state = channels[channel] { return state }
        let limit = configuration.maxChannels
        if channelCount.wrappingIncrementThenLoad(ordering: .relaxed) > limit {
            // One out, one in: the count stays; or nothing out, and this one is refused.
            channelCount.wrappingDecrement(ordering: .relaxed)
            guard evictUnusedChannel(for: channel, in: &channels) else { throw .tooManyChannels(limit: limit) }
        }
        let state = newChannelState(now: now)
        channels[channel] = state
        return state
    }

    /// At `maxChannels`, a channel that holds nothing — no subscribers, no history: kept only for its epoch
    /// (``Configuration/channelRetentionMilliseconds``) — makes room for a new one. Otherwise a client
    /// could subscribe to made-up names and leave, and keep every new channel out for the retention time.
    /// The longest idle one of `channel`'s shard (`channels`, whose lock is held) goes; failing that, any
    /// of another shard whose lock is free (never waited for, so two shards never wait for each other).
    /// Only at the limit, so the scan costs nothing in normal running.
    private func evictUnusedChannel(for channel: ChannelName, in channels: inout [ChannelName: ChannelState]) -> Bool {
        var idlest: (name: ChannelName, lastActivity: Int64)?
        for (name, state) in channels where state.isUnused && state.lastActivity < (idlest?.lastActivity ?? .max) {
            idlest = (name, state.lastActivity)
        }
        if let idlest {
            channels[idlest.name] = nil
            return true
        }
        let own = shard(for: channel)
        for other in shards where other !== own {
            let evicted = other.channels.withLockIfAvailable { channels -> Bool in
                guard let name = channels.first(where: { $0.value.isUnused })?.key else { return false }
                channels[name] = nil
                return true
            }
            if evicted == true { return true }
        }
        return false
    }

    /// Removes a channel that holds nothing (made by a publish that was then refused). Under the lock.
    func forget(_ channel: ChannelName, in channels: inout [ChannelName: ChannelState]) {
        guard channels.removeValue(forKey: channel) != nil else { return }
        channelCount.wrappingDecrement(ordering: .relaxed)
    }

    /// Drops `state`'s expired history and gives its bytes back to the budget. Under the shard's lock.
    func expireHistory(of state: ChannelState, now: Int64) {
        memory.release(state.history.expire(now: now), for: .history)
    }

    func newChannelState(now: Int64) -> ChannelState {
        ChannelState(
            epoch: makeEpoch(),
            history: MessageHistory(
                capacity: configuration.historySize,
                ttlMilliseconds: configuration.historyTTLMilliseconds
            ),
            formatCounts: [Int](repeating: 0, count: encoders.count),
            lastActivity: now
        )
    }

    func loopContext(for eventLoop: any EventLoop) -> LoopContext {
        loopContexts.withLock { contexts in
            let key = ObjectIdentifier(eventLoop)
            if let context = contexts[key] { return context }
            let context = LoopContext(eventLoop: eventLoop)
            contexts[key] = context
            return context
        }
    }
}

/// The system's wall clock.
public enum WallClock {
    /// Milliseconds since the Unix epoch.
    @Sendable public static func milliseconds() -> Int64 {
        Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000) &+ bootOffsetMilliseconds
    }

    /// The time from now until `milliseconds` since the Unix epoch (a token's expiry, say); zero when
    /// that has passed.
    public static func delay(until milliseconds: Int64) -> TimeAmount {
        .milliseconds(max(0, milliseconds - Self.milliseconds()))
    }

    // NIODeadline is monotonic; anchor it to the wall clock once, at first use, so message times are
    // comparable with the outside world but never jump when the system clock is adjusted.
    private static let bootOffsetMilliseconds: Int64 = {
        var time = timespec()
        clock_gettime(CLOCK_REALTIME, &time)
        let wall = Int64(time.tv_sec) * 1000 + Int64(time.tv_nsec) / 1_000_000
        return wall - Int64(NIODeadline.now().uptimeNanoseconds / 1_000_000)
    }()
}
