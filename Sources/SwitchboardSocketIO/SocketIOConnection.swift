import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardHTTP

/// Socket.IO on one Engine.IO session: decodes packets (putting binary attachments back), multiplexes
/// namespaces — one ``SocketIOSocket`` per connected namespace — and closes the session on a malformed
/// packet, or when no namespace is joined within `socketio.connect_timeout`, as the reference server does.
/// Confined to the session's event loop.
final class SocketIOConnection: EngineIOApplication {
    let session: EngineIOSession
    var service: HTTPService { session.service }
    /// The connected sockets of this Socket.IO server.
    var registry: SocketIORegistry { session.server.sockets }
    /// The connected namespaces (an array: most connections have one).
    private var sockets = CompactList<SocketIOSocket>()
    /// Reassembles packets and their binary attachments.
    private var assembler = SocketIOPacketAssembler()
    /// Set once a namespace was joined: the connect deadline then no longer applies.
    private var joinedOnce = false
    /// Closes the session when a packet's announced attachments do not all come in time.
    private var attachmentDeadline: Scheduled<Void>?
    /// Connect and disconnect hook requests of this session at the back end now: a client that connects
    /// and disconnects a namespace in a loop would otherwise have the back end told without bound (a
    /// disconnect is told, not awaited).
    private var hooksInFlight = 0

    init(session: EngineIOSession) {
        self.session = session
    }

    /// Past `socketio.connect_timeout` without a namespace, the session is closed (EngineIOHeartbeat).
    var isIdle: Bool? { !joinedOnce }

    var configuration: SocketIOConfiguration { service.configuration.socketIO }

    // MARK: EngineIOApplication

    func received(_ message: EngineIOPacket) {
        let wasAwaiting = assembler.isAwaitingAttachments
        let result = assembler.receive(
            message,
            maxAttachments: configuration.maxAttachments,
            maxBytes: configuration.maxPayload
        )
        if assembler.isAwaitingAttachments != wasAwaiting { attachmentsAwaited(assembler.isAwaitingAttachments) }
        switch result {
        case .failure:
            session.close(.parseError)
        case .success(let packet?):
            dispatch(packet)
        case .success(nil):
            break
        }
    }

    /// A packet started (or stopped) waiting for its attachments: they must all come within
    /// `socketio.connect_timeout`, or the half-received packet would be held for as long as the client likes.
    private func attachmentsAwaited(_ waiting: Bool) {
        attachmentDeadline?.cancel()
        attachmentDeadline = nil
        guard waiting else { return }
        let session = NIOLoopBound(session, eventLoop: session.eventLoop)
        let delay = TimeAmount.milliseconds(Int64(configuration.connectTimeout * 1000))
        attachmentDeadline = session.value.eventLoop.scheduleTask(in: delay) { session.value.close(.parseError) }
    }

    private func dispatch(_ packet: SocketIOPacket) {
        if packet.kind == .connect {
            connect(packet.namespace, auth: packet.data as? [String: Any] ?? [:])
        } else {
            socket(packet.namespace)?.received(packet)
        }
    }

    func pingSent() {
        for socket in sockets { socket.pingSent() }
    }

    func pongReceived() {
        for socket in sockets { socket.pongReceived() }
    }

    func sessionClosed(_ reason: EngineIOSession.CloseReason) {
        attachmentDeadline?.cancel()
        attachmentDeadline = nil
        let all = sockets
        sockets.removeAll()
        for socket in all { socket.ended(reason: reason.rawValue, recoverable: Self.isRecoverable(reason)) }
    }

    /// Disconnects that the client did not ask for: its state is kept for recovery. (A server shutdown is
    /// not one; its clients reconnect anyway, as no Socket.IO disconnect packet is sent to stop them.)
    private static func isRecoverable(_ reason: EngineIOSession.CloseReason) -> Bool {
        switch reason {
        case .transportClose, .transportError, .pingTimeout: true
        case .forcedClose, .parseError, .serverShutdown: false
        }
    }

    // MARK: Namespaces

    private func connect(_ namespace: String, auth: [String: Any]) {
        guard configuration.namespaces.contains(namespace) else {
            send(SocketIOPacket(.connectError, namespace: namespace, data: ["message": "Invalid namespace"]))
            session.flush()
            return
        }
        guard socket(namespace) == nil else { return }
        guard hooksInFlight < configuration.maxConcurrentCalls else {
            let message =
                "\(hooksInFlight) connect and disconnect hooks of this connection are already at the back end "
                + "(socketio.max_concurrent_calls); try again"
            send(SocketIOPacket(.connectError, namespace: namespace, data: ["message": message]))
            session.flush()
            return
        }
        let socket = SocketIOSocket(connection: self, namespace: namespace)
        sockets.append(socket)
        socket.start(auth: auth)
    }

    /// A socket ended (namespace disconnect, or its connection was refused).
    func socketEnded(_ socket: SocketIOSocket) {
        sockets.remove(socket)
    }

    /// Asks the back end about one of this session's sockets (connect, disconnect), counted while it is
    /// at the back end.
    func askHook(
        _ event: String,
        body: [String: Any],
        url: HTTPURL,
        backend: any BackendCaller
    ) -> EventLoopFuture<BackendHook.Answer> {
        hooksInFlight += 1
        let connection = NIOLoopBound(self, eventLoop: session.eventLoop)
        return BackendHook.ask(
            backend,
            url: url,
            event: event,
            body: body,
            timeoutSeconds: service.configuration.backendTimeout,
            on: session.eventLoop
        ).always { _ in connection.value.hooksInFlight -= 1 }
    }

    /// A socket was accepted (not merely asked for: the connect hook may still refuse it).
    func socketConnected() {
        joinedOnce = true
    }

    private func socket(_ namespace: String) -> SocketIOSocket? {
        sockets.first { $0.namespace == namespace }
    }

    // MARK: Output

    /// Sends a packet; binary values in its data go as attachments. Written, not flushed.
    func send(_ packet: SocketIOPacket) {
        var packet = packet
        var attachments: [ByteBuffer] = []
        if let data = packet.data {
            let (plain, binaries) = SocketIOBinary.deconstruct(data)
            if !binaries.isEmpty {
                packet.data = plain
                attachments = binaries
                packet.attachments = binaries.count
                packet.kind = packet.kind == .ack ? .binaryAck : .binaryEvent
            }
        }
        session.send(EngineIOPacket(.message, text: packet.encoded()))
        for attachment in attachments {
            session.send(EngineIOPacket(.message, payload: attachment, isBinary: true))
        }
    }
}
