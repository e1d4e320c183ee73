/// The one publish/subscribe policy: every front end (HTTP `/pub` and `/sub`, the server API, the native
/// protocol, Socket.IO, STOMP topics and queues, over TCP and WebSocket) asks it before a message goes
/// into a channel or queue, or a subscription starts. No protocol is a side door.
///
/// The back end may do anything. A client may publish where `security.client_publish` allows and
/// subscribe where `security.client_subscribe` allows, plus wherever its credential grants
/// (``ChannelGrants``). A pure value: no I/O.
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

    /// Patterns of channels and queues every client may publish or send to (`security.client_publish`).
    public var clientPublish: [String]
    /// Patterns of channels and queues every client may subscribe to (`security.client_subscribe`).
    public var clientSubscribe: [String]

    /// The documented defaults: clients may publish into the chat's rooms (`chat`, `chat.*`) and
    /// subscribe anywhere.
    public init(clientPublish: [String] = ["chat", "chat.*"], clientSubscribe: [String] = ["*"]) {
        self.clientPublish = clientPublish
        self.clientSubscribe = clientSubscribe
    }

    /// Decides whether `principal` may do `operation` on the channel or queue `name`.
    public func decide(
        _ operation: Operation,
        _ name: some StringProtocol,
        destination: Destination = .channel,
        by principal: Principal
    ) -> Decision {
        guard case .client(let grants) = principal else { return .allowed }
        let (everyone, granted, option) =
            switch operation {
            case .publish: (clientPublish, grants.publish, "security.client_publish")
            case .subscribe: (clientSubscribe, grants.subscribe, "security.client_subscribe")
            }
        if GlobPattern.anyMatches(everyone, name) || GlobPattern.anyMatches(granted, name) { return .allowed }
        let verb =
            switch (operation, destination) {
            case (.publish, .channel): "publish to channel"
            case (.publish, .queue): "send to queue"
            case (.subscribe, .channel): "subscribe to channel"
            case (.subscribe, .queue): "consume queue"
            }
        return .denied(reason: "not allowed to \(verb) \(name) (\(option), or a credential that grants it)")
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
