import NIOCore
import SwitchboardCore
import SwitchboardHTTP
import Synchronization

/// The connected Socket.IO sockets (for `GET /api/socketio/sockets` and `POST /api/socketio/emit`), by
/// socket id and user, and the state of recently disconnected ones for connection state recovery.
final class SocketIORegistry: Sendable {
    /// What `GET /api/socketio/sockets` shows of a socket (read on its loop when asked: the registry keeps
    /// no copy, to keep every connection small).
    struct Info: Sendable {
        var sid: String
        var namespace: String
        var user: String?
        var rooms: [String]
        var transport: String
        var connectedAt: Int64
    }

    /// A socket as the registry keeps it: the socket is used only on its event loop; its namespace and
    /// user never change once it is registered.
    struct Reference: Sendable {
        let socket: LoopBoundReference<SocketIOSocket>
        /// The user, fixed once the socket is registered.
        let user: String?
        let namespace: String

        init(_ socket: SocketIOSocket) {
            self.socket = LoopBoundReference(socket)
            self.user = socket.user
            self.namespace = socket.namespace
        }

        var eventLoop: any EventLoop { socket.eventLoop }

        func execute(_ body: @escaping @Sendable (SocketIOSocket) -> Void) { socket.execute(body) }
    }

    /// A disconnected socket's state, kept for `socketio.recovery_window` seconds.
    struct Recoverable: Sendable {
        var sid: String
        var pid: String
        var namespace: String
        var user: String?
        /// What the socket's token granted, and when it expires (milliseconds; nil: no token): a
        /// recovered socket keeps them, so a disconnect does not outlive or widen a token.
        var principal: Principal
        var expiresAt: Int64?
        /// Every room and the position of the last message written to the socket.
        var rooms: [ChannelName: StreamPosition]
        /// Messages written since the last ping the client answered, oldest first: it may not have them.
        var unconfirmed: [Message]
        /// Which keeping this is (set by ``keep(_:seconds:on:)``).
        var token = ""
    }

    private let sockets = Mutex<[String: Reference]>([:])
    private let recoverable = Mutex<[String: Recoverable]>([:])
    func add(_ socket: SocketIOSocket) {
        let reference = Reference(socket)
        sockets.withLock { $0[socket.id] = reference }
    }

    func remove(sid: String) {
        _ = sockets.withLock { $0.removeValue(forKey: sid) }
    }

    func socket(sid: String) -> Reference? {
        sockets.withLock { $0[sid] }
    }

    /// The sockets of `user` (in `namespace`, when given).
    func sockets(ofUser user: String, namespace: String?) -> [Reference] {
        sockets.withLock { all in
            all.values.filter { $0.user == user && (namespace == nil || $0.namespace == namespace) }
        }
    }

    /// Every socket's info, filtered by namespace and room when given, ordered by connection time: each
    /// event loop is asked once for its sockets.
    func infos(namespace: String?, room: ChannelName?, on eventLoop: any EventLoop) -> EventLoopFuture<[Info]> {
        let references = sockets.withLock { all in
            all.values.filter { namespace == nil || $0.namespace == namespace }
        }
        var byLoop: [ObjectIdentifier: [Reference]] = [:]
        for reference in references { byLoop[ObjectIdentifier(reference.eventLoop), default: []].append(reference) }
        let parts = byLoop.values.map { group -> EventLoopFuture<[Info]> in
            let loop = group[0].eventLoop
            return loop.submit {
                group.compactMap { reference -> Info? in
                    let info = reference.socket.value.info
                    if let room, !info.rooms.contains(room.rawValue) { return nil }
                    return info
                }
            }
        }
        return EventLoopFuture.whenAllSucceed(parts, on: eventLoop).map { lists in
            lists.flatMap { $0 }.sorted { ($0.connectedAt, $0.sid) < ($1.connectedAt, $1.sid) }
        }
    }

    // MARK: Recovery

    /// Keeps a disconnected socket's state for `seconds`.
    func keep(_ state: Recoverable, seconds: Double, on eventLoop: any EventLoop) {
        var state = state
        let token = RandomID.make(length: 12)
        state.token = token
        recoverable.withLock { $0[state.pid] = state }
        let pid = state.pid
        eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            // Only this state: the socket may have recovered and been kept again since (same pid).
            self.recoverable.withLock { all in
                if all[pid]?.token == token { all[pid] = nil }
            }
        }
    }

    /// Takes the state kept under private id `pid`, if it is still there.
    func take(pid: String) -> Recoverable? {
        recoverable.withLock { $0.removeValue(forKey: pid) }
    }
}
