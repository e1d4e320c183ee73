public import SwitchboardCore

/// Who a valid token says the client is, and what it may do.
public struct TokenIdentity: Sendable, Equatable {
    /// The user (`sub`).
    public var user: String
    /// What others see of the client (`info`, a JSON object or array), as JSON text.
    public var info: String?
    /// Channels the token grants (`channels`: patterns it may subscribe and publish to).
    public var grants: ChannelGrants
    /// When it expires (`exp`), in milliseconds since the Unix epoch; nil when it never does.
    public var expiresAt: Int64?

    public init(user: String, info: String? = nil, grants: ChannelGrants = .none, expiresAt: Int64? = nil) {
        self.user = user
        self.info = info
        self.grants = grants
        self.expiresAt = expiresAt
    }
}
