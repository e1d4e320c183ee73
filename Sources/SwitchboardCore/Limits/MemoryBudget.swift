import Atomics

/// The server-wide budget for retained bytes (`limits.max_memory`): channel histories, queued messages
/// and pending STOMP transactions. What a client publishes is kept until history or a consumer lets go
/// of it; when the budget is spent, new publishes are refused (HTTP `507`, STOMP `ERROR`, the native
/// protocol's `memory_full`) instead of the process growing until the system kills it.
///
/// Thread-safe: reservations are atomic, per account (for `/stats`) and in total.
public final class MemoryBudget: Sendable {
    /// What the bytes are retained for.
    public enum Account: Int, Sendable, CaseIterable {
        case history
        case queues
        case transactions

        /// The name in `/stats`.
        public var name: String {
            switch self {
            case .history: "history"
            case .queues: "queues"
            case .transactions: "transactions"
            }
        }
    }

    /// Who retains the bytes. Clients may fill the budget only up to ``clientLimit``: when they have
    /// filled what they may, the back end's publishes (and the operator's STOMP logins) still fit, so a
    /// crowd of clients cannot silence the application.
    public enum Source: Sendable {
        case client
        case backend

        /// The source of what `principal` publishes or sends.
        public init(_ principal: Principal) {
            if case .client = principal { self = .client } else { self = .backend }
        }
    }

    /// The limit in bytes; 0 = none.
    public let limit: Int
    /// What clients may fill: nine tenths of `limit` (the rest is kept for the back end).
    public let clientLimit: Int
    private let total = ManagedAtomic<Int>(0)
    private let accounts: [ManagedAtomic<Int>]
    private let refusals = ManagedAtomic<Int>(0)

    /// A budget of `limit` bytes (0 = unlimited, still counted).
    public init(limit: Int) {
        self.limit = limit
        self.clientLimit = limit - limit / 10
        self.accounts = Account.allCases.map { _ in ManagedAtomic(0) }
    }

    /// Takes `bytes` from the budget for `account`; false (and nothing taken) when that would go over
    /// the limit — for a client, over ``clientLimit``.
    public func reserve(_ bytes: Int, for account: Account, by source: Source = .backend) -> Bool {
        guard bytes > 0 else { return true }
        let after = total.wrappingIncrementThenLoad(by: bytes, ordering: .relaxed)
        if limit > 0 && after > (source == .client ? clientLimit : limit) {
            total.wrappingDecrement(by: bytes, ordering: .relaxed)
            refusals.wrappingIncrement(ordering: .relaxed)
            return false
        }
        accounts[account.rawValue].wrappingIncrement(by: bytes, ordering: .relaxed)
        return true
    }

    /// Gives back `bytes` taken for `account`.
    public func release(_ bytes: Int, for account: Account) {
        guard bytes > 0 else { return }
        total.wrappingDecrement(by: bytes, ordering: .relaxed)
        accounts[account.rawValue].wrappingDecrement(by: bytes, ordering: .relaxed)
    }

    /// Bytes retained now, in total.
    public var used: Int { total.load(ordering: .relaxed) }

    /// Bytes retained now for `account`.
    public func used(by account: Account) -> Int { accounts[account.rawValue].load(ordering: .relaxed) }

    /// How many reservations were refused since start.
    public var refusedCount: Int { refusals.load(ordering: .relaxed) }

    /// The bytes a message costs while it is retained: its payload and headers, and the bookkeeping
    /// around them (an estimate of the object, its buffer's header and its history slot).
    public static func cost(payload: Int, contentType: String?, eventType: String?, headers: [MessageHeader]) -> Int {
        var bytes = payload + 160
        bytes += contentType?.utf8.count ?? 0
        bytes += eventType?.utf8.count ?? 0
        for header in headers { bytes += header.name.utf8.count + header.value.utf8.count + 32 }
        return bytes
    }
}
