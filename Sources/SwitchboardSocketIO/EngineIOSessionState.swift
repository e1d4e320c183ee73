/// An Engine.IO session's transport as a value: which transport carries it, whether a poll is waiting,
/// where an upgrade stands, and whether the session has ended. Every event returns what the session must
/// do; ``EngineIOSession`` does it (writes, answers polls, closes channels). No I/O here.
struct EngineIOSessionState {
    enum Transport: String {
        case polling
        case webSocket = "websocket"
    }

    /// The upgrade from polling: a WebSocket was opened for the session (`probing`), it answered the probe
    /// (`probed`: output then waits for the upgrade to complete).
    enum Upgrade {
        case none
        case probing
        case probed
    }

    enum Life {
        case open
        /// Ended, but a polling client still gets the last packets (and a farewell) on its next poll.
        case draining
        case closed
    }

    private(set) var transport: Transport
    private(set) var upgrade = Upgrade.none
    private(set) var pollWaiting = false
    private(set) var life = Life.open

    init(transport: Transport) {
        self.transport = transport
    }

    var isClosed: Bool { life != .open }
    /// Output waits for the WebSocket rather than going to a poll.
    var holdsOutput: Bool { upgrade == .probed }

    // MARK: HTTP long-polling

    enum PollAction: Equatable {
        case refuse(EngineIOServer.Failure)
        /// A second poll while one waits (the reference server's "overlap from client"): refuse it, end
        /// the waiting one with a close packet, end the session.
        case overlap
        /// Answer at once with a noop: the client is moving to the WebSocket.
        case answerNoop
        /// Answer at once with what is queued (and the farewell, when draining).
        case answer
        case wait
    }

    mutating func pollArrived(hasOutput: Bool) -> PollAction {
        guard life != .closed else { return .refuse(.unknownSession) }
        guard transport == .polling else { return .refuse(.badRequest) }
        guard !pollWaiting else { return .overlap }
        pollWaiting = true
        if upgrade == .probed { return .answerNoop }
        return hasOutput || life == .draining ? .answer : .wait
    }

    /// The waiting poll was answered; `final` when the answer carried the farewell (the session is over).
    mutating func pollAnswered(final: Bool) {
        pollWaiting = false
        if final { life = .closed }
    }

    /// Whether a POST may deliver packets, or why not.
    var postRefusal: EngineIOServer.Failure? {
        if life != .open { return .unknownSession }
        if transport != .polling { return .badRequest }
        return nil
    }

    // MARK: Upgrade

    /// A WebSocket opened for this session: false when it must be refused (already upgraded, another
    /// probe running, or the session ended), as the reference server does.
    mutating func probeOpened() -> Bool {
        guard life == .open, transport == .polling, upgrade == .none else { return false }
        upgrade = .probing
        return true
    }

    enum ProbeAction: Equatable {
        /// `2probe`: answer `3probe`, end the waiting poll with a noop.
        case answerProbe
        /// `5`: the WebSocket is the transport now; end the waiting poll with a noop, send the queue there.
        case completeUpgrade
        /// Anything else: the probe is closed, polling goes on.
        case abandon
    }

    mutating func probeReceived(_ kind: EngineIOPacket.Kind, isProbe: Bool) -> ProbeAction {
        switch (kind, upgrade) {
        case (.ping, .probing) where isProbe:
            upgrade = .probed
            return .answerProbe
        case (.upgrade, .probed):
            upgrade = .none
            transport = .webSocket
            return .completeUpgrade
        default:
            upgrade = .none
            return .abandon
        }
    }

    /// The probe closed or timed out before the upgrade.
    mutating func probeEnded() {
        upgrade = .none
    }

    // MARK: Closing

    enum CloseAction: Equatable {
        case alreadyClosed
        case closeWebSocket
        /// Answer the waiting poll with the queue and the farewell; the session is then over.
        case answerWaitingPoll
        /// Keep the queue for the next poll, for a while.
        case awaitLastPoll
        case forget
    }

    /// `drain`: a polling client should still get what was queued.
    mutating func close(drain: Bool) -> CloseAction {
        guard life == .open else { return .alreadyClosed }
        upgrade = .none
        switch transport {
        case .webSocket:
            life = .closed
            return .closeWebSocket
        case .polling where pollWaiting:
            life = .draining
            return .answerWaitingPoll
        case .polling where drain:
            life = .draining
            return .awaitLastPoll
        case .polling:
            life = .closed
            return .forget
        }
    }

    /// Nobody came for the last packets.
    mutating func drainExpired() {
        if life == .draining { life = .closed }
    }
}
