import Atomics
import NIOCore
import Synchronization

/// The hub's presence on one event loop: the subscriptions living on that loop, and an inbox through
/// which publishers hand over messages.
///
/// A publish hops to each loop that has subscribers once (not once per subscriber). Publishers append to
/// the inbox under a short lock and schedule one drain task if none is pending; the drain delivers every
/// queued message to the local subscriptions and then flushes each touched subscriber once, so a burst of
/// messages leaves in as few writes as the kernel allows.
final class LoopContext: @unchecked Sendable {
    // @unchecked: `registry`, `spare` and `touched` are only used on `eventLoop` (asserted in debug builds);
    // everything shared is behind `inbox` or atomic.

    enum Event {
        case deliver(Delivery)
        case channelDeleted(ChannelName, epoch: String)
        case presence(PresenceEvent, epoch: String)
        /// A mirror's channel moved on without the messages in between (a new epoch in the engine, a fence,
        /// messages the engine no longer has): subscriptions at `epoch` continue from `position`, told of
        /// `gap` when there is one.
        case moved(ChannelName, epoch: String, to: StreamPosition, gap: GapReason?)
    }

    private struct Inbox {
        var events: [Event] = []
        var drainScheduled = false
    }

    let eventLoop: any EventLoop
    private let inbox = Mutex(Inbox())
    let deliveredCount = ManagedAtomic<Int>(0)

    /// Loop-confined: the subscriptions on this loop, per channel.
    private var registry: [ChannelName: [Subscription]] = [:]
    private var spare: [Event] = []
    /// Per event of a batch: whether it is the last delivery of its channel (reused between batches).
    private var lastOfChannel: [Bool] = []
    private var channelsSeen: Set<ChannelName> = []

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    // MARK: Publisher side (any thread)

    func enqueue(_ event: Event) {
        if append(event) { scheduleDrain() }
    }

    /// Adds `event` to the inbox; returns whether the caller must then call ``scheduleDrain()`` (no drain
    /// was pending). Split so that publishers can append under their channel's lock and wake the loop after.
    func append(_ event: Event) -> Bool {
        inbox.withLock { inbox -> Bool in
            inbox.events.append(event)
            guard !inbox.drainScheduled else { return false }
            inbox.drainScheduled = true
            return true
        }
    }

    /// Runs a drain of the inbox on the loop.
    func scheduleDrain() {
        eventLoop.execute { self.drain() }
    }

    // MARK: Loop side

    func add(_ subscription: Subscription) {
        eventLoop.preconditionInEventLoop()
        subscription.registryIndex = registry[subscription.channel, default: []].count
        registry[subscription.channel, default: []].append(subscription)
    }

    /// Removes `subscription` from this loop (constant time: the last one takes its slot).
    func remove(_ subscription: Subscription) {
        eventLoop.preconditionInEventLoop()
        let index = subscription.registryIndex
        guard index >= 0 else { return }
        guard var list = registry.removeValue(forKey: subscription.channel) else { return }
        let last = list.removeLast()
        if last !== subscription {
            list[index] = last
            last.registryIndex = index
        }
        subscription.registryIndex = -1
        if !list.isEmpty { registry[subscription.channel] = list }
    }

    private func drain() {
        var events = spare
        inbox.withLock { inbox in
            swap(&events, &inbox.events)
            inbox.drainScheduled = false
        }
        markLastOfChannel(events)
        var delivered = 0
        for (index, event) in events.enumerated() {
            switch event {
            case .deliver(let delivery):
                delivered += deliverLocally(delivery, flush: lastOfChannel[index])
            case .channelDeleted(let channel, let epoch):
                endSubscriptions(of: channel, epoch: epoch)
            case .presence(let event, let epoch):
                for subscription in registry[event.channel] ?? [] where subscription.position.epoch == epoch {
                    subscription.subscriber?.presenceChanged(event, on: subscription)
                }
            case .moved(let channel, let epoch, let position, let gap):
                // Within one epoch only subscriptions behind the new position move (one that subscribed
                // since, from a resume past it, stays where it is).
                for subscription in registry[channel] ?? []
                where subscription.position.epoch == epoch
                    && (position.epoch != epoch || subscription.position.offset < position.offset)
                {
                    let from = subscription.position
                    subscription.position = position
                    if let gap { subscription.subscriber?.gapped(gap, from: from, on: subscription) }
                }
            }
        }
        events.removeAll(keepingCapacity: true)
        spare = events
        if delivered > 0 { deliveredCount.wrappingIncrement(by: delivered, ordering: .relaxed) }
    }

    /// Marks, for each event, whether it is its channel's last delivery in the batch: subscribers flush
    /// then, so a batch costs one write per subscriber and a lone message needs no second pass to flush.
    private func markLastOfChannel(_ events: [Event]) {
        lastOfChannel.removeAll(keepingCapacity: true)
        lastOfChannel.append(contentsOf: repeatElement(false, count: events.count))
        guard events.count > 1 else {
            if !events.isEmpty { lastOfChannel[0] = true }
            return
        }
        channelsSeen.removeAll(keepingCapacity: true)
        for index in events.indices.reversed() {
            guard case .deliver(let delivery) = events[index] else { continue }
            lastOfChannel[index] = channelsSeen.insert(delivery.message.channel).inserted
        }
    }

    private func deliverLocally(_ delivery: Delivery, flush: Bool) -> Int {
        let message = delivery.message
        guard let list = registry[message.channel] else { return 0 }
        var count = 0
        for subscription in list {
            // Skip what the subscription already has: it may have received this message from history when
            // it subscribed after the message was published but before this delivery ran.
            guard subscription.position.epoch == message.position.epoch,
                subscription.position.offset < message.position.offset
            else { continue }
            subscription.position = message.position
            subscription.subscriber?.deliver(delivery, on: subscription, flush: flush)
            count += 1
        }
        return count
    }

    private func endSubscriptions(of channel: ChannelName, epoch: String) {
        guard let list = registry[channel] else { return }
        let ending = list.filter { $0.position.epoch == epoch }
        guard !ending.isEmpty else { return }
        let staying = list.filter { $0.position.epoch != epoch }
        for (index, subscription) in staying.enumerated() { subscription.registryIndex = index }
        registry[channel] = staying.isEmpty ? nil : staying
        for subscription in ending {
            subscription.registryIndex = -1
            subscription.isActive = false
            let subscriber = subscription.subscriber
            subscription.subscriber = nil
            subscriber?.channelDeleted(subscription)
        }
    }
}
