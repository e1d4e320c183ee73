import NIOCore

/// How long an HTTP connection may make the server wait, as a value: events in, a deadline out.
///
/// ```
///  idle ──first byte──▶ readingHead ──head──▶ awaitingBody ──body bytes──▶ readingBody
///   ▲      (idle_timeout)   (header_timeout)      (header_timeout)          (idle_timeout)
///   │                           │ head of a request without a body            │ end
///   └──── response sent, keep-alive ◀── busy (the server is answering) ◀──────┘
///                        last response sent, or 408 ──▶ closing (header_timeout) ──▶ closed
/// ```
/// A head dribbled a byte a second, or a body that never comes, ends with `408`; a kept-alive connection
/// with no next request is closed quietly. While the server answers (a long-poll, a back-end call) the
/// client is not on the clock. A last answer (`Connection: close`, a `408`) closes the connection once
/// written, or when a client that does not read it has had `header_timeout` to.
struct HTTPReadTimeouts {
    enum Phase: Equatable {
        case idle
        case readingHead
        case awaitingBody
        case readingBody
        case busy
        case closing
    }

    /// What to do when the deadline passes.
    enum Expiry: Equatable {
        /// A kept-alive connection had no next request: close it.
        case idleConnection
        /// A request did not arrive in time: answer `408` and close.
        case slowRequest
    }

    let headerTimeout: TimeAmount
    let idleTimeout: TimeAmount
    private(set) var phase = Phase.idle
    /// When the client's time runs out; nil while the server is answering.
    private(set) var deadline: NIODeadline?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount, now: NIODeadline) {
        self.headerTimeout = headerTimeout
        self.idleTimeout = idleTimeout
        self.deadline = now + idleTimeout
    }

    /// Bytes came from the client.
    mutating func bytesReceived(now: NIODeadline) {
        switch phase {
        case .idle:
            phase = .readingHead
            deadline = now + headerTimeout
        case .awaitingBody:
            phase = .readingBody
            deadline = now + idleTimeout
        case .readingHead, .readingBody, .busy, .closing:
            break
        }
    }

    /// A request head was read; `expectsBody` when a body follows.
    mutating func headReceived(expectsBody: Bool, now: NIODeadline) {
        if phase == .closing { return }  // nothing more is answered: the deadline stands
        if expectsBody {
            phase = .awaitingBody
            deadline = now + headerTimeout
        } else {
            phase = .busy
            deadline = nil
        }
    }

    /// The whole request was read: the server answers now.
    mutating func requestEnded() {
        if phase == .closing { return }
        phase = .busy
        deadline = nil
    }

    /// An answer went out; a kept-alive connection waits for its next request.
    mutating func responseSent(keepAlive: Bool, now: NIODeadline) {
        if phase == .closing { return }
        guard keepAlive else {
            closing(now: now)
            return
        }
        phase = .idle
        deadline = now + idleTimeout
    }

    /// A last answer was written: the connection closes when it is sent, or at the deadline at the latest.
    mutating func closing(now: NIODeadline) {
        phase = .closing
        deadline = now + headerTimeout
    }

    /// What the deadline's passing means, if it did pass at `now`.
    func expiry(now: NIODeadline) -> Expiry? {
        guard let deadline, deadline <= now else { return nil }
        switch phase {
        case .idle, .closing: return .idleConnection
        case .readingHead, .awaitingBody, .readingBody: return .slowRequest
        case .busy: return nil
        }
    }
}
