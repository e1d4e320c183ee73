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
    private var touched: Set<ChannelName> = []

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    // MARK: Publisher side (any thread)

    func enqueue(_ event: Event) {
        let mustSchedule = inbox.withLock { inbox -> Bool in
            inbox.events.append(event)
            guard !inbox.drainScheduled else { return false }
            inbox.drainScheduled = true
            return true
        }
        if mustSchedule {
            eventLoop.execute { self.drain() }
        }
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
        var delivered = 0
        for event in events {
            switch event {
            case .deliver(let delivery):
                delivered += deliverLocally(delivery)
            case .channelDeleted(let channel, let epoch):
                endSubscriptions(of: channel, epoch: epoch)
            }
        }
        for channel in touched {
            guard let list = registry[channel] else { continue }
            for subscription in list { subscription.subscriber?.flushDeliveries() }
        }
        touched.removeAll(keepingCapacity: true)
        events.removeAll(keepingCapacity: true)
        spare = events
        if delivered > 0 { deliveredCount.wrappingIncrement(by: delivered, ordering: .relaxed) }
    }

    private func deliverLocally(_ delivery: Delivery) -> Int {
        let message = delivery.message
        guard let list = registry[message.channel] else { return 0 }
        touched.insert(message.channel)
        var count = 0
        for subscription in list {
            // Skip what the subscription already has: it may have received this message from history when
            // it subscribed after the message was published but before this delivery ran.
            guard subscription.position.epoch == message.position.epoch,
                subscription.position.offset < message.position.offset
            else { continue }
            subscription.position = message.position
            subscription.subscriber?.deliver(delivery, on: subscription)
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
