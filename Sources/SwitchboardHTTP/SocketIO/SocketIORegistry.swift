import NIOCore
import SwitchboardCore
import Synchronization

/// The connected Socket.IO sockets (for `GET /api/socketio/sockets` and `POST /api/socketio/emit`), by
/// socket id and user, and the state of recently disconnected ones for connection state recovery.
final class SocketIORegistry: Sendable {
    /// What `GET /api/socketio/sockets` shows of a socket.
    struct Info: Sendable {
        var sid: String
        var namespace: String
        var user: String?
        var rooms: Set<ChannelName>
        var transport: String
        var connectedAt: Int64
    }

    /// A socket as the registry keeps it: used only on its event loop.
    struct Reference: @unchecked Sendable {
        fileprivate let socket: SocketIOSocket
        let eventLoop: any EventLoop

        init(_ socket: SocketIOSocket) {
            self.socket = socket
            self.eventLoop = socket.eventLoop
        }

        func execute(_ body: @escaping @Sendable (SocketIOSocket) -> Void) {
            if eventLoop.inEventLoop {
                body(socket)
            } else {
                eventLoop.execute { body(self.socket) }
            }
        }
    }

    /// A disconnected socket's state, kept for `socketio.recovery_window` seconds.
    struct Recoverable: Sendable {
        var sid: String
        var pid: String
        var namespace: String
        var user: String?
        /// Every room and the position of the last message written to the socket.
        var rooms: [ChannelName: StreamPosition]
        /// Messages written since the last ping the client answered, oldest first: it may not have them.
        var unconfirmed: [Message]
    }

    private let sockets = Mutex<[String: (reference: Reference, info: Info)]>([:])
    private let recoverable = Mutex<[String: Recoverable]>([:])

    func add(_ socket: SocketIOSocket, info: Info) {
        let reference = Reference(socket)
        sockets.withLock { $0[info.sid] = (reference, info) }
    }

    func remove(sid: String) {
        _ = sockets.withLock { $0.removeValue(forKey: sid) }
    }

    func update(sid: String, _ change: (inout Info) -> Void) {
        sockets.withLock { all in
            guard var entry = all[sid] else { return }
            change(&entry.info)
            all[sid] = entry
        }
    }

    func socket(sid: String) -> Reference? {
        sockets.withLock { $0[sid]?.reference }
    }

    /// The sockets of `user` (in `namespace`, when given).
    func sockets(ofUser user: String, namespace: String?) -> [Reference] {
        sockets.withLock { all in
            all.values.filter { $0.info.user == user && (namespace == nil || $0.info.namespace == namespace) }
                .map(\.reference)
        }
    }

    /// Every socket's info, filtered by namespace and room when given, ordered by connection time.
    func infos(namespace: String?, room: ChannelName?) -> [Info] {
        sockets.withLock { all in
            all.values.map(\.info).filter { info in
                (namespace == nil || info.namespace == namespace) && (room.map { info.rooms.contains($0) } ?? true)
            }
        }.sorted { ($0.connectedAt, $0.sid) < ($1.connectedAt, $1.sid) }
    }

    var count: Int { sockets.withLock { $0.count } }

    // MARK: Recovery

    /// Keeps a disconnected socket's state for `seconds`.
    func keep(_ state: Recoverable, seconds: Double, on eventLoop: any EventLoop) {
        recoverable.withLock { $0[state.pid] = state }
        let pid = state.pid
        eventLoop.scheduleTask(in: .milliseconds(Int64(seconds * 1000))) {
            _ = self.recoverable.withLock { $0.removeValue(forKey: pid) }
        }
    }

    /// Takes the state kept under private id `pid`, if it is still there.
    func take(pid: String) -> Recoverable? {
        recoverable.withLock { $0.removeValue(forKey: pid) }
    }
}
