import NIOCore
import Synchronization

/// The native-protocol connections on the SSE fallback, by session id: `POST /connection/send` hands
/// each command to its connection's event loop, in order.
final class NativeSessionRegistry: Sendable {
    private struct Entry: @unchecked Sendable {
        // @unchecked: the handler is only used on `eventLoop`.
        let handler: NativeConnectionHandler
        let eventLoop: any EventLoop
    }

    private let sessions = Mutex<[String: Entry]>([:])

    func add(_ handler: NativeConnectionHandler, id: String, eventLoop: any EventLoop) {
        sessions.withLock { $0[id] = Entry(handler: handler, eventLoop: eventLoop) }
    }

    func remove(id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// Hands `commands` to session `id`'s connection; false when there is no such session.
    func send(_ commands: [ByteBuffer], to id: String) -> Bool {
        guard let entry = sessions.withLock({ $0[id] }) else { return false }
        entry.eventLoop.execute {
            for command in commands { entry.handler.receiveCommand(command) }
            entry.handler.flushOutput()
        }
        return true
    }
}
