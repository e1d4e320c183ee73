import NIOCore
import SwitchboardCore
import SwitchboardHTTP
import Synchronization

/// The native-protocol connections on the fallbacks (SSE and long-poll), by session id:
/// `POST /connection/send` hands each command to its connection's event loop, in order, and
/// `GET /connection/poll` reaches a long-poll session's outbox.
final class NativeSessionRegistry: Sendable {
    private struct Entry: @unchecked Sendable {
        // @unchecked: `longPoll` is only used on `connection.eventLoop`.
        let connection: LoopBoundReference<NativeConnection>
        let longPoll: NativeLongPollSession?
    }

    private let sessions = Mutex<[String: Entry]>([:])

    func add(_ connection: NativeConnection, id: String, longPoll: NativeLongPollSession? = nil) {
        let entry = Entry(connection: LoopBoundReference(connection), longPoll: longPoll)
        sessions.withLock { $0[id] = entry }
    }

    func remove(id: String) {
        _ = sessions.withLock { $0.removeValue(forKey: id) }
    }

    /// Hands `commands` to session `id`'s connection; false when there is no such session.
    func send(_ commands: [ByteBuffer], to id: String) -> Bool {
        guard let entry = sessions.withLock({ $0[id] }) else { return false }
        entry.connection.execute { connection in
            for command in commands { connection.receiveCommand(command) }
            connection.flush()
        }
        return true
    }

    /// A poll of long-poll session `id`, answered on `eventLoop`; nil when there is no such session.
    func poll(_ id: String, ack: UInt64, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse>? {
        guard let entry = sessions.withLock({ $0[id] }), entry.longPoll != nil else { return nil }
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        // The entry (unchecked Sendable) crosses to the session's loop, where its long-poll is used.
        entry.connection.eventLoop.execute { entry.longPoll?.poll(ack: ack, promise: promise) }
        return promise.futureResult
    }

    /// Says goodbye to every long-poll session (the others are channels, told by the connection registry).
    func shutdown() {
        let entries = sessions.withLock { Array($0.values) }
        for entry in entries where entry.longPoll != nil {
            entry.connection.execute { $0.shutdown() }
        }
    }
}
