import Foundation
import NIOCore
import SwitchboardCore

/// Socket.IO on one Engine.IO session: decodes packets (putting binary attachments back), multiplexes
/// namespaces — one ``SocketIOSocket`` per connected namespace — and closes the session on a malformed
/// packet, or when no namespace is joined within `socketio.connect_timeout`, as the reference server does.
/// Confined to the session's event loop.
final class SocketIOConnection: EngineIOApplication {
    let session: EngineIOSession
    var service: HTTPService { session.service }
    private var sockets: [String: SocketIOSocket] = [:]
    /// A binary packet waiting for its attachments.
    private var pendingBinary: (packet: SocketIOPacket, attachments: [ByteBuffer])?
    private var connectTimer: Scheduled<Void>?

    init(session: EngineIOSession) {
        self.session = session
        let seconds = session.service.socketIOConfiguration.connectTimeout
        let bound = NIOLoopBound(self, eventLoop: session.eventLoop)
        connectTimer = session.eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            let connection = bound.value
            if connection.sockets.isEmpty { connection.session.close(.transportClose) }
        }
    }

    var configuration: SocketIOConfiguration { service.socketIOConfiguration }

    // MARK: EngineIOApplication

    func received(_ message: EngineIOPacket) {
        if message.isBinary {
            guard var pending = pendingBinary else {
                session.close(.parseError)  // an attachment nobody announced
                return
            }
            pending.attachments.append(message.payload)
            guard pending.attachments.count == pending.packet.attachments else {
                pendingBinary = pending
                return
            }
            pendingBinary = nil
            guard let data = pending.packet.data,
                let rebuilt = SocketIOBinary.reconstruct(data, attachments: pending.attachments)
            else {
                session.close(.parseError)
                return
            }
            var packet = pending.packet
            packet.data = rebuilt
            dispatch(packet)
            return
        }
        guard pendingBinary == nil else {
            session.close(.parseError)  // text while attachments were expected
            return
        }
        switch SocketIOPacket.decode(String(buffer: message.payload), maxAttachments: configuration.maxAttachments) {
        case .failure:
            session.close(.parseError)
        case .success(let packet):
            if packet.kind.isBinary, packet.attachments > 0 {
                pendingBinary = (packet, [])
            } else {
                dispatch(packet)
            }
        }
    }

    private func dispatch(_ packet: SocketIOPacket) {
        if packet.kind == .connect {
            connect(packet.namespace, auth: packet.data as? [String: Any] ?? [:])
        } else {
            sockets[packet.namespace]?.received(packet)
        }
    }

    func pingSent() {
        for socket in sockets.values { socket.pingSent() }
    }

    func pongReceived() {
        for socket in sockets.values { socket.pongReceived() }
    }

    func transportUpgraded() {
        for socket in sockets.values { socket.transportUpgraded() }
    }

    func sessionClosed(_ reason: EngineIOSession.CloseReason) {
        connectTimer?.cancel()
        let all = sockets.values
        sockets = [:]
        for socket in all { socket.ended(reason: reason.rawValue, recoverable: Self.isRecoverable(reason)) }
    }

    /// Disconnects that the client did not ask for: its state is kept for recovery.
    private static func isRecoverable(_ reason: EngineIOSession.CloseReason) -> Bool {
        switch reason {
        case .transportClose, .transportError, .pingTimeout: true
        case .forcedClose, .parseError, .serverShutdown: false
        }
    }

    /// The server is going away: clients reconnect (no Socket.IO disconnect packet, which would stop them).
    func shutdown() {
        for socket in sockets.values {
            socket.ended(reason: EngineIOSession.CloseReason.serverShutdown.rawValue, recoverable: false)
        }
        sockets = [:]
    }

    // MARK: Namespaces

    private func connect(_ namespace: String, auth: [String: Any]) {
        guard configuration.namespaces.contains(namespace) else {
            send(SocketIOPacket(.connectError, namespace: namespace, data: ["message": "Invalid namespace"]))
            session.flush()
            return
        }
        guard sockets[namespace] == nil else { return }
        connectTimer?.cancel()
        let socket = SocketIOSocket(connection: self, namespace: namespace)
        sockets[namespace] = socket
        socket.start(auth: auth)
    }

    /// A socket ended (namespace disconnect, or its connection was refused).
    func socketEnded(_ socket: SocketIOSocket) {
        if sockets[socket.namespace] === socket { sockets[socket.namespace] = nil }
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
