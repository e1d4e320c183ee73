import NIOCore
import Synchronization

/// The native-protocol connections of each user, for `POST /api/disconnect` (and the count `/api/send`
/// answers with).
final class UserRegistry: Sendable {
    /// Fired into a connection's pipeline to end it (close code 4004).
    struct DisconnectRequest: Sendable {}

    private let connections = Mutex<[String: [ObjectIdentifier: any Channel]]>([:])

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
