import DequeModule
import NIOCore
import SwitchboardHTTP

/// The timers of every Engine.IO session on one event loop: when each is due a ping, when each pinged
/// one must have answered, and when a new Socket.IO connection must have joined a namespace. Every session
/// on the loop shares the three delays, so deadlines are added in order, and a queue per kind replaces a
/// scheduled task per session (a promise, closures and a timer-heap entry each: hundreds of bytes times
/// every connection). One scheduled task per queue waits for its head. Confined to its event loop.
final class EngineIOHeartbeat {
    /// What a deadline is for.
    enum Kind: Int, CaseIterable {
        case ping
        case pongDeadline
        case connectDeadline
    }

    private struct Entry {
        let deadline: NIODeadline
        let session: EngineIOSession
        /// The session's heartbeat generation when this was queued; stale pings and pong deadlines are
        /// skipped (the connect deadline checks its own condition).
        let generation: UInt32
    }

    private let eventLoop: any EventLoop
    private let delays: [TimeAmount]
    private var queues: [Deque<Entry>]
    private var tasks: [Scheduled<Void>?]

    init(eventLoop: any EventLoop, configuration: EngineIOConfiguration) {
        self.eventLoop = eventLoop
        self.delays = [configuration.pingInterval, configuration.pingTimeout, configuration.connectTimeout]
        self.queues = Array(repeating: [], count: Kind.allCases.count)
        self.tasks = Array(repeating: nil, count: Kind.allCases.count)
    }

    /// Queues `session`'s deadline of `kind`, its delay from now.
    func schedule(_ kind: Kind, for session: EngineIOSession, generation: UInt32) {
        let index = kind.rawValue
        queues[index].append(Entry(deadline: .now() + delays[index], session: session, generation: generation))
        if tasks[index] == nil { arm(kind) }
    }

    private func arm(_ kind: Kind) {
        guard let head = queues[kind.rawValue].first else { return }
        let heartbeat = NIOLoopBound(self, eventLoop: eventLoop)
        tasks[kind.rawValue] = eventLoop.scheduleTask(deadline: head.deadline) { heartbeat.value.fire(kind) }
    }

    private func fire(_ kind: Kind) {
        let index = kind.rawValue
        tasks[index] = nil
        let now = NIODeadline.now()
        while let head = queues[index].first, head.deadline <= now {
            queues[index].removeFirst()
            guard kind == .connectDeadline || head.session.heartbeatGeneration == head.generation else { continue }
            head.session.deadlinePassed(kind)
        }
        // A deadline handled above may have scheduled (and armed) another already.
        if tasks[index] == nil { arm(kind) }
    }
}
