import Atomics
public import NIOCore
import Synchronization

/// Where a hub's channel stands against the shared engine.
enum MirrorState: Equatable {
    /// No engine: the hub is the store.
    case notMirrored
    /// Attaching and reading the engine's history; subscriptions wait.
    case warming
    /// In step with the engine: messages arrive in offset order and are delivered.
    case live
    /// A message arrived out of order, or the link came back: the engine's history is being read again;
    /// what arrives meanwhile waits in the reorder buffer. Subscriptions are served from what the mirror has
    /// (the rest reaches them as deliveries).
    case repairing
}

/// A subscription waiting for its channel's mirror: run on its loop with nil (go ahead) or the refusal.
struct MirrorWaiter {
    let resume: @Sendable (HubRefusal?) -> Void
}

extension Hub {
    /// Runs `body` on `eventLoop` once every channel of `channels` is at hand, so that `body` can subscribe
    /// to them with ``subscribe(_:to:from:format:tag:on:)`` — or runs `refused` instead.
    ///
    /// Without an engine, and with one when this node already mirrors every channel, `body` runs before this
    /// returns. Otherwise the node first attaches to the cold channels and reads their history from the
    /// engine, and `body` runs later (`refused`, with ``HubRefusal/engineUnavailable(reason:)``, when the
    /// engine cannot be reached; or ``HubRefusal/tooManyChannels(limit:)``). Either way the mirrors stay
    /// until `body` has run, so its subscribes find them.
    public func whenReady(
        _ channels: [ChannelName],
        on eventLoop: any EventLoop,
        _ body: @escaping () -> Void,
        refused: @escaping (HubRefusal) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        guard engine != nil else { return body() }
        let now = clock()
        // Each hold is of one state object: a channel dropped and made again meanwhile is another one.
        var held: [(ChannelName, ObjectIdentifier)] = []
        var cold: [(ChannelName, ObjectIdentifier)] = []
        var waiting: [ChannelName] = []
        var refusal: HubRefusal?
        for channel in Set(channels) {
            shard(for: channel).channels.withLock { states in
                if let state = states[channel] {
                    state.holds += 1
                    held.append((channel, ObjectIdentifier(state)))
                    if state.mirror == .warming { waiting.append(channel) }
                    return
                }
                do throws(HubRefusal) {
                    let state = try self.state(of: channel, in: &states, now: now)
                    state.mirror = .warming
                    state.epoch = ""
                    state.holds = 1
                    held.append((channel, ObjectIdentifier(state)))
                    waiting.append(channel)
                    cold.append((channel, ObjectIdentifier(state)))
                } catch {
                    refusal = error
                }
            }
            if refusal != nil { break }
        }
        let finish = { (refusal: HubRefusal?) in
            if let refusal { refused(refusal) } else { body() }
            self.release(held)
        }
        if let refusal {
            finish(refusal)
            // The channels created here: dropped, unless another caller waits for them meanwhile.
            for (channel, id) in cold {
                let wanted = shard(for: channel).channels.withLock { states -> Bool in
                    guard let state = states[channel], ObjectIdentifier(state) == id else { return false }
                    guard state.waiters.isEmpty, state.holds == 0 else { return true }
                    forget(channel, in: &states)  // never attached: nothing to detach
                    return false
                }
                if wanted { fill(channel, attaching: true, expected: id) }
            }
            return
        }
        guard !waiting.isEmpty else { return finish(nil) }
        // Each waiting channel answers once; the last answer runs `finish` on the loop.
        let progress = NIOLoopBoundBox(
            (remaining: waiting.count, refusal: HubRefusal?.none, finish: finish),
            eventLoop: eventLoop
        )
        let waiter = MirrorWaiter { refusal in
            eventLoop.execute {
                progress.value.remaining -= 1
                if progress.value.refusal == nil { progress.value.refusal = refusal }
                if progress.value.remaining == 0 { progress.value.finish(progress.value.refusal) }
            }
        }
        var ready: [ChannelName] = []
        for channel in waiting {
            let registered = shard(for: channel).channels.withLock { states -> Bool in
                guard let state = states[channel], state.mirror == .warming else {
                    return false  // filled since it was looked at
                }
                state.waiters.append(waiter)
                return true
            }
            if !registered { ready.append(channel) }
        }
        for _ in ready { waiter.resume(nil) }
        for (channel, id) in cold { fill(channel, attaching: true, expected: id) }
    }

    /// Gives up the holds of ``whenReady(_:on:_:refused:)``: a mirror nobody subscribed to goes.
    private func release(_ held: [(ChannelName, ObjectIdentifier)]) {
        for (channel, id) in held {
            shard(for: channel).channels.withLock { states in
                guard let state = states[channel], ObjectIdentifier(state) == id else { return }
                state.holds -= 1
                dropMirrorIfUnused(state, channel: channel, in: &states)
            }
        }
    }

    /// Removes `state`, a mirror, when nothing uses it any more, and detaches the node from the channel.
    /// Under the shard's lock — the detach too: a new mirror of the channel can only be made (and attach)
    /// after it, so its attachment is never undone by this detach.
    func dropMirrorIfUnused(_ state: ChannelState, channel: ChannelName, in states: inout [ChannelName: ChannelState]) {
        guard state.mirror != .notMirrored, state.mirror != .warming, state.subscriberCount == 0, state.holds == 0,
            state.waiters.isEmpty
        else { return }
        dropMirror(channel, in: &states)
    }

    /// Removes the mirror of `channel` and detaches. Under the shard's lock.
    func dropMirror(_ channel: ChannelName, in states: inout [ChannelName: ChannelState]) {
        guard let state = states[channel] else { return }
        memory.release(state.history.bytes, for: .history)
        forget(channel, in: &states)
        engine?.detach(channel)
    }

    /// Publishes `request` to `channel`; the future (on `eventLoop`) has the stored message. Without an
    /// engine this is ``publish(_:to:)``, already complete; with one, the message is stored and fanned out by
    /// the engine (to every node, this one included) and the future completes when the engine has it — a
    /// refusal is ``HubRefusal/engineUnavailable(reason:)`` when the engine cannot be reached.
    public func publish(
        _ request: PublishRequest,
        to channel: ChannelName,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<PublishResult> {
        guard let engine else {
            return eventLoop.makeCompletedFuture(
                Result { () throws(HubRefusal) in try self.publish(request, to: channel) }.mapError { $0 as any Error }
            )
        }
        return engine.publish(request, to: channel).hop(to: eventLoop).map { message in
            self.publishedCount.wrappingIncrement(ordering: .relaxed)
            let subscribers = self.shard(for: channel).channels.withLock { $0[channel]?.subscriberCount ?? 0 }
            return PublishResult(message: message, subscribers: subscribers)
        }.flatMapErrorThrowing { error in
            if let refusal = error as? HubRefusal { throw refusal }
            throw HubRefusal.engineUnavailable(reason: "\(error)")
        }
    }

    /// Deletes `channel`; the future has how many subscribers it had (on this node), or nil when it did not
    /// exist. With an engine the channel is deleted for every node, and each tells its own subscribers.
    public func deleteChannel(_ channel: ChannelName, on eventLoop: any EventLoop) -> EventLoopFuture<Int?> {
        guard let engine else { return eventLoop.makeSucceededFuture(deleteChannel(channel)) }
        let local = shard(for: channel).channels.withLock { $0[channel]?.subscriberCount ?? 0 }
        return engine.delete(channel).hop(to: eventLoop).map { existed in existed ? local : nil }
            .flatMapErrorThrowing { error in throw HubRefusal.engineUnavailable(reason: "\(error)") }
    }

    /// History of `channel` after `since`, as ``history(of:since:limit:maxBytes:)``; with an engine, read
    /// from it when this node does not mirror the channel.
    public func history(
        of channel: ChannelName,
        since: StreamPosition?,
        limit: Int,
        maxBytes: Int = .max,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<HistoryPage?> {
        guard let engine, !isMirrored(channel) else {
            return eventLoop.makeSucceededFuture(history(of: channel, since: since, limit: limit, maxBytes: maxBytes))
        }
        return engine.history(of: channel, limit: max(1, configuration.historySize)).hop(to: eventLoop).map { page in
            guard let snapshot = self.snapshot(of: channel, from: page) else { return nil }
            return self.historyPage(
                of: snapshot,
                since: since,
                limit: limit,
                maxBytes: maxBytes,
                now: self.clock(),
                detached: true
            )
        }.flatMapErrorThrowing { error in throw HubRefusal.engineUnavailable(reason: "\(error)") }
    }

    /// Information about `channel`, as ``info(_:)``; with an engine, read from it when this node does not
    /// mirror the channel (subscribers are then this node's: none).
    public func info(_ channel: ChannelName, on eventLoop: any EventLoop) -> EventLoopFuture<ChannelInfo?> {
        guard let engine, !isMirrored(channel) else { return eventLoop.makeSucceededFuture(info(channel)) }
        return engine.history(of: channel, limit: max(1, configuration.historySize)).hop(to: eventLoop).map { page in
            self.snapshot(of: channel, from: page).map { Self.info(channel, $0) }
        }.flatMapErrorThrowing { error in throw HubRefusal.engineUnavailable(reason: "\(error)") }
    }

    private func isMirrored(_ channel: ChannelName) -> Bool {
        shard(for: channel).channels.withLock { channels in
            channels[channel].map { $0.mirror == .live || $0.mirror == .repairing } ?? false
        }
    }

    /// A detached channel state holding what `page` says of `channel`; nil when the engine has no such channel.
    private func snapshot(of channel: ChannelName, from page: StoredPage) -> ChannelState? {
        guard let epoch = page.head.epoch else { return nil }
        let state = newChannelState(now: clock())
        state.epoch = epoch
        state.fence = page.head.fencedEpoch.map { StreamPosition(epoch: $0, offset: page.head.fenceOffset) }
        for message in page.messages { state.history.append(message, now: clock()) }
        state.lastOffset = page.head.offset
        state.publishedCount = Int(page.head.offset)
        return state
    }

    // MARK: What the engine tells the hub

    /// A message of a channel this node attached to, from the engine (in offset order per channel, unless
    /// the link dropped some: a gap is repaired from the engine's history before anything after it goes out).
    public func ingest(_ message: Message) {
        let channel = message.channel
        let now = clock()
        var repair: ObjectIdentifier?
        let drains = shard(for: channel).channels.withLock { channels -> [LoopContext] in
            guard let state = channels[channel] else { return [] }
            let offset = message.position.offset
            switch state.mirror {
            case .notMirrored:
                return []
            case .warming, .repairing:
                buffer(message, in: state)
                return []
            case .live:
                if message.position.epoch == state.epoch {
                    if offset <= state.lastOffset { return [] }  // seen (the history read had it)
                    if offset == state.lastOffset + 1 { return apply(message, to: state, now: now) }
                } else if state.epoch.isEmpty, state.lastOffset == 0, offset == 1 {
                    // The first message of a channel that had none when this node attached: its epoch begins.
                    state.epoch = message.position.epoch
                    let moved = state.enqueue(
                        .moved(channel, epoch: "", to: StreamPosition(epoch: state.epoch, offset: 0), gap: nil)
                    )
                    return moved + apply(message, to: state, now: now)
                }
                buffer(message, in: state)
                state.mirror = .repairing
                repair = ObjectIdentifier(state)
                return []
            }
        }
        for context in drains { context.scheduleDrain() }
        if let repair { fill(channel, attaching: false, expected: repair) }
    }

    /// A channel was deleted through the engine (by any node): its subscribers here are told, as with
    /// ``deleteChannel(_:)``.
    public func engineDeleted(_ channel: ChannelName, epoch: String) {
        let removed = shard(for: channel).channels.withLock { channels -> ChannelState? in
            guard let state = channels[channel], state.mirror != .notMirrored, state.epoch == epoch else { return nil }
            dropMirror(channel, in: &channels)
            return state
        }
        guard let removed else { return }
        for loop in removed.loops { loop.context.enqueue(.channelDeleted(channel, epoch: epoch)) }
    }

    /// The engine ended this node's attachment to `channel` (its slot moved to another Redis node): attach
    /// again, and repair what may have been missed meanwhile.
    public func engineDetached(_ channel: ChannelName) {
        let mirrored = shard(for: channel).channels.withLock { channels -> ObjectIdentifier? in
            guard let state = channels[channel], state.mirror == .live || state.mirror == .repairing else {
                return nil
            }
            state.mirror = .repairing
            return ObjectIdentifier(state)
        }
        if let mirrored { fill(channel, attaching: true, expected: mirrored) }
    }

    /// The engine's link is back: every mirror may have missed messages while it was down, so each reads the
    /// engine's history again and delivers what it missed (or tells its subscribers of a new epoch).
    public func engineLinkUp() {
        var channels: [(ChannelName, ObjectIdentifier)] = []
        for shard in shards {
            shard.channels.withLock { states in
                for (name, state) in states where state.mirror == .live || state.mirror == .repairing {
                    state.mirror = .repairing
                    channels.append((name, ObjectIdentifier(state)))
                }
            }
        }
        for (channel, id) in channels { fill(channel, attaching: false, expected: id) }
    }

    // MARK: Filling a mirror

    /// Reads `channel`'s history from the engine (after attaching, for a cold channel) and brings the
    /// mirror in step with it.
    /// `expected` is the state the fill is for: what comes back for a channel dropped and made again
    /// meanwhile is not applied to the new one.
    func fill(_ channel: ChannelName, attaching: Bool, expected: ObjectIdentifier, rereading: Bool = false) {
        guard let engine else { return }
        let limit = max(1, configuration.historySize)
        let read =
            attaching
            ? engine.attach(channel).flatMap { engine.history(of: channel, limit: limit) }
            : engine.history(of: channel, limit: limit)
        let eventLoop = read.eventLoop
        read.whenComplete { result in
            let retry = self.filled(channel, expected: expected, with: result, rereading: rereading)
            // A repair that failed is tried again (a link that drops also repairs every mirror when it returns).
            if retry {
                eventLoop.scheduleTask(in: .seconds(1)) { self.fill(channel, attaching: attaching, expected: expected) }
            }
        }
    }

    /// Applies a fill; true when it failed and should be tried again.
    private func filled(
        _ channel: ChannelName,
        expected: ObjectIdentifier,
        with result: Result<StoredPage, any Error>,
        rereading: Bool
    ) -> Bool {
        let now = clock()
        var waiters: [MirrorWaiter] = []
        var refusal: HubRefusal?
        var again = false
        var retry = false
        let drains = shard(for: channel).channels.withLock { channels -> [LoopContext] in
            guard let state = channels[channel], ObjectIdentifier(state) == expected,
                state.mirror == .warming || state.mirror == .repairing
            else {
                return []
            }
            switch result {
            case .success(let page):
                let drains = reconcile(state, with: page, channel: channel, now: now)
                waiters = state.waiters
                state.waiters = []
                // Messages still waiting (beyond the next offset, or of another epoch) may have come after
                // what was read: read once more. What a second read, issued after they arrived, does not
                // account for is stale (of an epoch that ended) and dropped.
                if rereading { state.reorder.removeAll() }
                again = !state.reorder.isEmpty
                state.mirror = again ? .repairing : .live
                if waiters.isEmpty {
                    dropMirrorIfUnused(state, channel: channel, in: &channels)  // everyone left meanwhile
                    if channels[channel] == nil { again = false }
                }
                return drains
            case .failure(let error):
                // A repair that failed is tried again; the mirror serves what it has meanwhile.
                guard state.mirror == .warming else {
                    retry = true
                    return []
                }
                refusal = .engineUnavailable(reason: "\(error)")
                waiters = state.waiters
                state.waiters = []
                dropMirror(channel, in: &channels)
                return []
            }
        }
        for context in drains { context.scheduleDrain() }
        for waiter in waiters { waiter.resume(refusal) }
        if again { fill(channel, attaching: false, expected: expected, rereading: true) }
        return retry
    }

    /// Brings `state` in step with `page` (the engine's head and newest messages); returns the loops to
    /// wake. Under the shard's lock.
    private func reconcile(
        _ state: ChannelState,
        with page: StoredPage,
        channel: ChannelName,
        now: Int64
    ) -> [LoopContext] {
        var drains: [LoopContext] = []
        let head = page.head
        let headEpoch = head.epoch ?? ""
        if headEpoch != state.epoch {
            if let fenced = head.fencedEpoch, fenced == state.epoch {
                // A fence: the engine's primary changed. What it still has of the old epoch continues; what
                // this mirror saw beyond the fence's offset may be lost, and subscribers past it are told.
                for message in page.messages
                where message.position.epoch == fenced && message.position.offset > state.lastOffset {
                    drains += skip(to: message.position.offset - 1, of: state, channel: channel)
                    drains += apply(message, to: state, now: now)
                }
                drains += skip(to: head.fenceOffset, of: state, channel: channel)
                let lost = state.lastOffset > head.fenceOffset
                memory.release(state.history.removeMessages(after: head.fenceOffset), for: .history)
                state.lastOffset = head.fenceOffset
                drains += state.enqueue(
                    .moved(
                        channel,
                        epoch: fenced,
                        to: StreamPosition(epoch: headEpoch, offset: head.fenceOffset),
                        gap: lost ? .possibleLoss : nil
                    )
                )
            } else {
                // A new epoch: the engine lost the channel (a restart without persistence) or it was deleted
                // and created again unseen. A mirror that had nothing (no epoch yet) just takes it on.
                let hadAnything = !state.epoch.isEmpty || state.lastOffset > 0
                memory.release(state.history.removeAll(), for: .history)
                state.lastOffset = 0
                drains += state.enqueue(
                    .moved(
                        channel,
                        epoch: state.epoch,
                        to: StreamPosition(epoch: headEpoch, offset: 0),
                        gap: hadAnything ? .newEpoch : nil
                    )
                )
            }
            state.epoch = headEpoch
        }
        state.fence = head.fencedEpoch.map { StreamPosition(epoch: $0, offset: head.fenceOffset) }
        for message in page.messages
        where message.position.epoch == state.epoch && message.position.offset > state.lastOffset {
            drains += skip(to: message.position.offset - 1, of: state, channel: channel)
            drains += apply(message, to: state, now: now)
        }
        // Messages the head counts but history no longer has (expired, or history is off).
        drains += skip(to: head.offset, of: state, channel: channel)
        // Then what arrived while reading, in order (looked at before it is taken: one of another epoch
        // stays for the next read).
        while let next = state.reorder[state.lastOffset + 1], next.position.epoch == state.epoch {
            state.reorder[state.lastOffset + 1] = nil
            drains += apply(next, to: state, now: now)
        }
        state.reorder = state.reorder.filter { $0.key > state.lastOffset || $0.value.position.epoch != state.epoch }
        return drains
    }

    /// Moves the mirror on to `offset` when it is behind it: the engine no longer has the messages in
    /// between (trimmed or expired while the link was down). Subscribers past nothing are told `too-old`;
    /// a mirror being filled for the first time (no subscribers yet, nothing seen) just starts there.
    private func skip(to offset: UInt64, of state: ChannelState, channel: ChannelName) -> [LoopContext] {
        guard offset > state.lastOffset else { return [] }
        let seenBefore = state.lastOffset > 0
        state.lastOffset = offset
        guard seenBefore || !state.loops.isEmpty else { return [] }
        // What history holds no longer leads up to what comes next: resumes must not take it for complete.
        memory.release(state.history.removeAll(), for: .history)
        return state.enqueue(
            .moved(channel, epoch: state.epoch, to: StreamPosition(epoch: state.epoch, offset: offset), gap: .tooOld)
        )
    }

    /// Keeps and delivers `message`, the channel's next. Under the shard's lock.
    private func apply(_ message: Message, to state: ChannelState, now: Int64) -> [LoopContext] {
        // History must run without holes (resumes compute where to start from offsets; across a fence the
        // offsets continue): a message that does not follow the newest kept one starts it again.
        if let newest = state.history.messages.last, newest.position.offset + 1 != message.position.offset {
            memory.release(state.history.removeAll(), for: .history)
        }
        // The engine has stored it already: over the memory budget, the mirror does not keep it — nor what
        // came before it, which would leave a hole.
        if !keep(message, in: state, now: now, source: .backend) {
            memory.release(state.history.removeAll(), for: .history)
        }
        state.lastOffset = message.position.offset
        state.publishedCount += 1
        state.lastActivity = now
        return enqueueDelivery(of: message, in: state)
    }

    /// At most this many messages wait in a reorder buffer; beyond, they are dropped and read from the
    /// engine's history when the repair completes.
    static var reorderLimit: Int { 10_000 }

    private func buffer(_ message: Message, in state: ChannelState) {
        guard state.reorder.count < Self.reorderLimit else { return }
        state.reorder[message.position.offset] = message
    }
}
