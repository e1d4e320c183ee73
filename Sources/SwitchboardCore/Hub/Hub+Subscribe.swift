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
        let (resume, stateID) = try shard(for: channel).channels.withLock {
            channels throws(HubRefusal) -> (ResumeResult, ObjectIdentifier) in
            if mirrored, channels[channel].map({ $0.mirror != .live && $0.mirror != .repairing }) ?? true {
                // With an engine, a channel must be mirrored first: whenReady(_:on:_:refused:).
                throw .engineUnavailable(reason: "the channel is not mirrored on this node")
            }
            let state = try state(of: channel, in: &channels, now: now)
            expireHistory(of: state, now: now)
            var resume = state.history.resume(
                from: position,
                epoch: state.epoch,
                lastOffset: state.lastOffset,
                fence: state.fence
            )
            if mirrored, let position, position.epoch == state.epoch, position.offset > state.lastOffset {
                // Ahead of this mirror: the client saw it on another node (or in its publish's answer) before
                // this node's copy arrived. It starts there, so that copy is not delivered twice.
                resume.position = position
            }
            state.subscriberCount += 1
            state.lastActivity = now
            if let format { state.formatCounts[format.index] += 1 }
            if let index = state.loops.firstIndex(where: { $0.context === context }) {
                state.loops[index].count += 1
            } else {
                state.loops.append(LoopSubscriberCount(context: context, count: 1))
            }
            return (resume, ObjectIdentifier(state))
        }
        let subscription = Subscription(
            channel: channel,
            format: format,
            position: resume.position,
            tag: tag,
            subscriber: subscriber
        )
        subscription.countedIn = stateID
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
        shard(for: subscription.channel).channels.withLock { channels in
            // A channel deleted and made again since is another state: this subscription is not counted there.
            guard let state = channels[subscription.channel] else { return }
            if ObjectIdentifier(state) == subscription.countedIn {
                state.lastActivity = now
                state.subscriberCount -= 1
                if let format = subscription.format { state.formatCounts[format.index] -= 1 }
                if let index = state.loops.firstIndex(where: { $0.context === context }) {
                    state.loops[index].count -= 1
                    if state.loops[index].count == 0 { state.loops.remove(at: index) }
                }
            }
            // A mirror lives as long as this node has subscribers of the channel.
            dropMirrorIfUnused(state, channel: subscription.channel, in: &channels)
        }
    }
}
