import NIOCore
import Synchronization

/// The native-protocol connections by user and by client id, for `POST /api/disconnect` and
/// `POST /api/call`.
final class UserRegistry: Sendable {
    /// Fired into a connection's pipeline to end it (close code 4004).
    struct DisconnectRequest: Sendable {}

    private let connections = Mutex<[String: [ObjectIdentifier: any Channel]]>([:])
    private let clients = Mutex<[String: any Channel]>([:])

    func add(_ channel: any Channel, client: String) {
        clients.withLock { $0[client] = channel }
    }

    func remove(client: String) {
        _ = clients.withLock { $0.removeValue(forKey: client) }
    }

    /// The connection with client id `client`.
    func channel(ofClient client: String) -> (any Channel)? {
        clients.withLock { $0[client] }
    }

    /// The connections of `user`.
    func channels(ofUser user: String) -> [any Channel] {
        connections.withLock { Array(($0[user] ?? [:]).values) }
    }

    func add(_ channel: any Channel, user: String) {
        connections.withLock { $0[user, default: [:]][ObjectIdentifier(channel)] = channel }
    }

    func remove(_ channel: any Channel, user: String) {
        connections.withLock { all in
            all[user]?[ObjectIdentifier(channel)] = nil
            if all[user]?.isEmpty == true { all[user] = nil }
        }
    }

    /// How many connections `user` has.
    func count(of user: String) -> Int {
        connections.withLock { $0[user]?.count ?? 0 }
    }

    /// Ends every connection of `user`; returns how many there were.
    func disconnect(_ user: String) -> Int {
        let channels = connections.withLock { Array(($0[user] ?? [:]).values) }
        for channel in channels { channel.pipeline.fireUserInboundEventTriggered(DisconnectRequest()) }
        return channels.count
    }
}
