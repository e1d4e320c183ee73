/// The application of the conformance configuration's `/engine.io/` endpoint: every message comes back
/// as it was sent, like the reference suite's test server (`socketio.conformance`).
final class EngineIOEcho: EngineIOApplication {
    private let session: EngineIOSession

    init(session: EngineIOSession) {
        self.session = session
    }

    func received(_ message: EngineIOPacket) {
        session.send(message)
    }

    var isIdle: Bool? { nil }
    func pingSent() {}
    func pongReceived() {}
    func sessionClosed(_ reason: EngineIOSession.CloseReason) {}
}
