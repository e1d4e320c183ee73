/// What a credential allows a client beyond what every client may do: channel (and queue) patterns it
/// may publish to and subscribe to. A signed token's `channels` claim grants both; a STOMP user's
/// `write` and `read` lists grant publishing (`SEND`) and subscribing.
public struct ChannelGrants: Sendable, Equatable {
    /// Patterns (`*`, `?`) of channels and queues the client may publish or send to.
    public var publish: [String]
    /// Patterns of channels and queues the client may subscribe to.
    public var subscribe: [String]

    /// Creates grants.
    public init(publish: [String] = [], subscribe: [String] = []) {
        self.publish = publish
        self.subscribe = subscribe
    }

    /// Nothing beyond what every client may do.
    public static let none = ChannelGrants()
    /// Everything (the legacy `stomp.users = ["login:passcode"]` form).
    public static let everything = ChannelGrants(publish: ["*"], subscribe: ["*"])
}
