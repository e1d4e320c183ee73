import Synchronization

/// Caps connections in total (`limits.max_connections`) and per client address
/// (`limits.connections_per_address`), across every listener. A connection holds a ``Slot`` for as long
/// as it is open; past a cap, a new connection is refused at once (HTTP `503` with `Retry-After`, a STOMP
/// `ERROR`) instead of being served until the process runs out of file descriptors.
public final class ConnectionLimiter: Sendable {
    /// Why a connection was refused.
    public enum Refusal: Error, Sendable, Equatable {
        case tooManyConnections(limit: Int)
        case tooManyFromAddress(limit: Int)

        /// A sentence naming the option.
        public var message: String {
            switch self {
            case .tooManyConnections(let limit):
                "the server has \(limit) connections open (limits.max_connections); try again later"
            case .tooManyFromAddress(let limit):
                "\(limit) connections are open from this address (limits.connections_per_address)"
            }
        }
    }

    /// What one open connection holds: its place in the total, and (once its client is known) in its
    /// address's count. Released when the connection closes.
    public final class Slot: Sendable {
        private let limiter: ConnectionLimiter
        private let address = Mutex<String?>(nil)

        fileprivate init(limiter: ConnectionLimiter) {
            self.limiter = limiter
        }

        /// Counts the connection against `client` instead of the address it was counted against (a
        /// trusted proxy's connection, once the forwarded client is known); refuses past the limit.
        public func reassign(to client: String) -> Refusal? {
            address.withLock { current -> Refusal? in
                guard current != client else { return nil }
                if let refusal = limiter.take(client) { return refusal }
                if let current { limiter.give(current) }
                current = client
                return nil
            }
        }

        fileprivate func count(_ client: String) -> Refusal? {
            reassign(to: client)
        }

        /// The connection closed.
        public func release() {
            let held = address.withLock { current -> String? in
                defer { current = nil }
                return current
            }
            if let held { limiter.give(held) }
            limiter.total.withLock { $0 -= 1 }
        }
    }

    public let maxConnections: Int
    public let perAddress: Int
    private let total = Mutex(0)
    private let byAddress = Mutex<[String: Int]>([:])

    public init(maxConnections: Int, perAddress: Int) {
        self.maxConnections = maxConnections
        self.perAddress = perAddress
    }

    /// Admits a connection from `address` (nil: count it in the total only, for now — its client is
    /// known later, as for a trusted proxy's connections).
    public func admit(address: String?) -> Result<Slot, Refusal> {
        let admitted = total.withLock { count -> Bool in
            guard count < maxConnections else { return false }
            count += 1
            return true
        }
        guard admitted else { return .failure(.tooManyConnections(limit: maxConnections)) }
        let slot = Slot(limiter: self)
        if let address, let refusal = slot.count(address) {
            slot.release()
            return .failure(refusal)
        }
        return .success(slot)
    }

    /// Connections open now.
    public var count: Int { total.withLock { $0 } }

    /// Connections open now from `address`.
    public func count(from address: String) -> Int { byAddress.withLock { $0[address] ?? 0 } }

    fileprivate func take(_ address: String) -> Refusal? {
        byAddress.withLock { counts -> Refusal? in
            guard counts[address, default: 0] < perAddress else { return .tooManyFromAddress(limit: perAddress) }
            counts[address, default: 0] += 1
            return nil
        }
    }

    fileprivate func give(_ address: String) {
        byAddress.withLock { counts in
            counts[address, default: 1] -= 1
            if counts[address] == 0 { counts[address] = nil }
        }
    }
}
