/// The one publish/subscribe policy: every front end (HTTP `/pub` and `/sub`, the server API, the native
/// protocol, Socket.IO, STOMP topics and queues, over TCP and WebSocket) asks it before a message goes
/// into a channel or queue, or a subscription starts. No protocol is a side door.
///
/// The back end may do anything. A client may publish to channels where `security.client_publish` allows,
/// subscribe where `security.client_subscribe` allows, and send to and consume queues where
/// `security.client_queues` allows (none by default: a queue's messages are work for the back end's
/// consumers), plus wherever its credential grants (``ChannelGrants``). An account (a STOMP login) may do
/// exactly what its lists grant. A pure value: no I/O.
public struct ChannelPolicy: Sendable, Equatable {
    /// What is asked for.
    public enum Operation: Sendable {
        /// Publishing to a channel, or sending to a queue.
        case publish
        /// Subscribing to a channel, reading its history or presence, or consuming a queue.
        case subscribe
    }

    /// What the name names (for the explanation of a refusal).
    public enum Destination: Sendable {
        case channel
        case queue
    }

    /// The answer.
    public enum Decision: Sendable, Equatable {
        case allowed
        /// Refused, with a sentence that says why and which option decides it.
        case denied(reason: String)

        /// Whether the operation is allowed.
        public var isAllowed: Bool { self == .allowed }
    }

    /// Patterns of channels every client may publish to (`security.client_publish`).
    public var clientPublish: [String]
    /// Patterns of channels every client may subscribe to (`security.client_subscribe`).
    public var clientSubscribe: [String]
    /// Patterns of queues every client may send to and consume (`security.client_queues`).
    public var clientQueues: [String]

    /// The documented defaults: clients may publish into the chat's rooms (`chat`, `chat.*`), subscribe
    /// to any channel, and use no queue.
    public init(
        clientPublish: [String] = ["chat", "chat.*"],
        clientSubscribe: [String] = ["*"],
        clientQueues: [String] = []
    ) {
        self.clientPublish = clientPublish
        self.clientSubscribe = clientSubscribe
        self.clientQueues = clientQueues
    }

    /// Decides whether `principal` may do `operation` on the channel or queue `name`.
    public func decide(
        _ operation: Operation,
        _ name: some StringProtocol,
        destination: Destination = .channel,
        by principal: Principal
    ) -> Decision {
        let grants: ChannelGrants
        let isAccount: Bool
        switch principal {
        case .backend: return .allowed
        case .client(let clientGrants): (grants, isAccount) = (clientGrants, false)
        case .account(let accountGrants): (grants, isAccount) = (accountGrants, true)
        }
        let granted = operation == .publish ? grants.publish : grants.subscribe
        if GlobPattern.anyMatches(granted, name) { return .allowed }
        let (everyone, option): ([String], String) =
            switch (isAccount, destination, operation) {
            case (true, _, .publish): ([], "the login's write list")
            case (true, _, .subscribe): ([], "the login's read list")
            case (false, .queue, _): (clientQueues, "security.client_queues")
            case (false, .channel, .publish): (clientPublish, "security.client_publish")
            case (false, .channel, .subscribe): (clientSubscribe, "security.client_subscribe")
            }
        if GlobPattern.anyMatches(everyone, name) { return .allowed }
        let verb =
            switch (operation, destination) {
            case (.publish, .channel): "publish to channel"
            case (.publish, .queue): "send to queue"
            case (.subscribe, .channel): "subscribe to channel"
            case (.subscribe, .queue): "consume queue"
            }
        let remedy = isAccount ? option : "\(option), or a credential that grants it"
        return .denied(reason: "not allowed to \(verb) \(name) (\(remedy))")
    }

    /// Whether `principal` may do `operation` on `name`.
    public func allows(
        _ operation: Operation,
        _ name: some StringProtocol,
        destination: Destination = .channel,
        by principal: Principal
    ) -> Bool {
        decide(operation, name, destination: destination, by: principal).isAllowed
    }
}
