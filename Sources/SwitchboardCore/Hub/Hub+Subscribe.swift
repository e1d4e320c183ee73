public import NIOCore
import Synchronization

extension Hub {
    /// Subscribes `subscriber` to `channel`, resuming after `position` when one is given.
    ///
    /// Must be called on `eventLoop`, the subscriber's loop. The returned backlog (messages missed since
    /// `position`) must be written by the caller before it returns to the loop: live messages arrive through
    /// later loop tasks, and the hub skips any of them the backlog already contained.
    ///
    /// Throws when the channel does not exist and may not be created (`limits.max_channels`).
    public func subscribe(
        _ subscriber: any ChannelSubscriber,
        to channel: ChannelName,
        from position: StreamPosition?,
        format: WireFormat?,
        tag: Int = 0,
        on eventLoop: any EventLoop
    ) throws(HubRefusal) -> (Subscription, ResumeResult) {
        eventLoop.preconditionInEventLoop()
        let context = loopContext(for: eventLoop)
        let now = clock()
        let mirrored = engine != nil
        let resume = try shard(for: channel).channels.withLock { channels throws(HubRefusal) -> ResumeResult in
            if mirrored, channels[channel].map({ $0.mirror != .live && $0.mirror != .repairing }) ?? true {
                // With an engine, a channel must be mirrored first: whenReady(_:on:_:refused:).
                throw .engineUnavailable(reason: "the channel is not mirrored on this node")
            }
            let state = try state(of: channel, in: &channels, now: now)
            expireHistory(of: state, now: now)
            let resume = state.history.resume(
                from: position,
                epoch: state.epoch,
                lastOffset: state.lastOffset,
                fence: state.fence
            )
            state.subscriberCount += 1
            state.lastActivity = now
            if let format { state.formatCounts[format.index] += 1 }
            if let index = state.loops.firstIndex(where: { $0.context === context }) {
                state.loops[index].count += 1
            } else {
                state.loops.append(LoopSubscriberCount(context: context, count: 1))
            }
            return resume
        }
        let subscription = Subscription(
            channel: channel,
            format: format,
            position: resume.position,
            tag: tag,
            subscriber: subscriber
        )
        context.add(subscription)
        return (subscription, resume)
    }

    /// Ends `subscription`. Idempotent; must be called on the subscriber's event loop.
    public func unsubscribe(_ subscription: Subscription, on eventLoop: any EventLoop) {
        eventLoop.preconditionInEventLoop()
        guard subscription.isActive else { return }
        subscription.isActive = false
        subscription.subscriber = nil
        let context = loopContext(for: eventLoop)
        context.remove(subscription)
        let now = clock()
        let detach = shard(for: subscription.channel).channels.withLock { channels -> Bool in
            // A channel deleted and re-created since has a new epoch: this subscription is not counted there.
            // (A mirror's epoch can move on under its subscriptions: they are counted whatever theirs.)
            guard let state = channels[subscription.channel] else { return false }
            if state.epoch == subscription.position.epoch || state.mirror != .notMirrored {
                state.lastActivity = now
                state.subscriberCount -= 1
                if let format = subscription.format { state.formatCounts[format.index] -= 1 }
                if let index = state.loops.firstIndex(where: { $0.context === context }) {
                    state.loops[index].count -= 1
                    if state.loops[index].count == 0 { state.loops.remove(at: index) }
                }
            }
            // A mirror lives as long as this node has subscribers of the channel.
            return dropMirrorIfUnused(state, channel: subscription.channel, in: &channels)
        }
        if detach { engine?.detach(subscription.channel) }
    }
}
