import NIOCore
import SwitchboardCore
import SwitchboardHTTP
import Synchronization

/// The native-protocol connections by user and by client id, for `POST /api/send`, `POST /api/disconnect`
/// and `POST /api/call`.
final class UserRegistry: Sendable {
    private let connections = Mutex<[String: [ObjectIdentifier: LoopBoundReference<NativeConnection>]]>([:])
    private let clients = Mutex<[String: LoopBoundReference<NativeConnection>]>([:])

    func add(_ connection: NativeConnection, client: String) {
        clients.withLock { $0[client] = LoopBoundReference(connection) }
    }

    func remove(client: String) {
        _ = clients.withLock { $0.removeValue(forKey: client) }
    }

    /// The connection with client id `client`.
    func connection(ofClient client: String) -> LoopBoundReference<NativeConnection>? {
        clients.withLock { $0[client] }
    }

    /// The connections of `user`.
    func connections(ofUser user: String) -> [LoopBoundReference<NativeConnection>] {
        connections.withLock { Array(($0[user] ?? [:]).values) }
    }

    func add(_ connection: NativeConnection, user: String) {
        let reference = LoopBoundReference(connection)
        connections.withLock { $0[user, default: [:]][reference.id] = reference }
    }

    func remove(_ connection: NativeConnection, user: String) {
        connections.withLock { all in
            all[user]?[ObjectIdentifier(connection)] = nil
            if all[user]?.isEmpty == true { all[user] = nil }
        }
    }

    /// How many connections `user` has.
    func count(of user: String) -> Int {
        connections.withLock { $0[user]?.count ?? 0 }
    }

    /// Ends every connection of `user` (close code 4004); returns how many there were.
    func disconnect(_ user: String) -> Int {
        let references = connections(ofUser: user)
        for reference in references { reference.execute { $0.disconnect() } }
        return references.count
    }
}
