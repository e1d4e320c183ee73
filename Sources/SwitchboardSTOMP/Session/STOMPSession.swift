import NIOCore
public import SwitchboardCore

/// One STOMP connection's protocol state, as a value: frames in, actions out. It negotiates the version,
/// checks every frame's headers, keeps the subscriptions and open transactions, and decides receipts and
/// errors; it does no I/O. ``STOMPConnectionHandler`` runs the actions against the hub and the queues.
public struct STOMPSession: Sendable {
    /// What the session needs to know about the broker.
    public struct Configuration: Sendable {
        /// The logins by name; empty means no login is required (the connection is anonymous).
        public var users: [String: STOMPUser] = [:]
        /// Who may send and subscribe where.
        public var policy = ChannelPolicy()
        /// The heart-beat interval the server offers in both directions, in milliseconds (0 = none).
        public var heartBeatMilliseconds = 10_000
        /// Most subscriptions per connection.
        public var maxSubscriptions = 256
        /// Unacknowledged messages per queue subscription when `prefetch-count` is not given.
        public var defaultPrefetch = 100
        /// Most open transactions per connection.
        public var maxTransactions = 16
        /// Most frames one transaction may hold.
        public var maxTransactionFrames = 10_000
        /// Most body bytes one transaction may hold.
        public var maxTransactionBytes = 4 << 20
        /// Longest channel or queue name, in bytes.
        public var maxNameLength = ChannelName.defaultMaxLength
        /// The `server` header of CONNECTED.
        public var serverName = "Switchboard"

        /// The defaults.
        public init() {}
    }

    public enum State: Sendable, Equatable {
        case awaitingConnect
        case connected
        case closed
    }

    /// One subscription of the connection.
    public struct Subscription: Sendable, Equatable {
        /// The client's id.
        public var id: String
        /// The session's own number for it (part of queue ack ids).
        public var key: Int
        public var destination: STOMPDestination
        public var ackMode: STOMPAckMode
        /// Unacknowledged messages allowed at once (queues).
        public var prefetch: Int
    }

    /// What the handler does, in order.
    public enum Action: Sendable {
        /// Write this frame.
        case send(STOMPFrame)
        /// Start heart-beating: send an EOL after `send` ms of silence, expect something every `receive` ms.
        case startHeartBeats(send: Int, receive: Int)
        /// Publish to a channel.
        case publish(ChannelName, PublishRequest)
        /// Store in a queue; an error becomes ``STOMPSession/fail(_:receipt:)``.
        case enqueue(queue: String, PublishRequest, temporary: Bool)
        /// Start a subscription (for a topic, resuming after the position when given).
        case subscribe(Subscription, resumeAfter: StreamPosition?)
        /// End a subscription.
        case unsubscribe(Subscription)
        /// Settle queue deliveries of a subscription: `tag` alone, or with every earlier one.
        case settle(subscriptionKey: Int, tag: UInt64, accept: Bool, cumulative: Bool)
        /// Close the connection once everything written so far is sent.
        case close
    }

    /// The headers of SEND that are STOMP's own; every other one travels with the message.
    static let protocolHeaders: Set<String> = [
        "destination", "content-length", "content-type", "receipt", "transaction",
    ]

    public let configuration: Configuration
    /// The session id (the `session` header of CONNECTED; part of temporary queue names).
    public let id: String
    public private(set) var state: State = .awaitingConnect
    public private(set) var version: STOMPVersion = .v10
    private var subscriptions: [String: Subscription] = [:]
    private var subscriptionIDsByKey: [Int: String] = [:]
    private var nextKey = 1
    private var transactions: [String: Transaction] = [:]
    /// Who the connection is for the policy: its login's grants, or anonymous.
    public private(set) var principal = Principal.anonymous

    /// An open transaction: the actions it will run on COMMIT, and the body bytes it holds meanwhile.
    private struct Transaction: Sendable {
        var actions: [Action] = []
        var bytes = 0
    }

    /// The body bytes held by open transactions (they count against `limits.max_memory`).
    public var pendingTransactionBytes: Int { transactions.values.reduce(0) { $0 + $1.bytes } }

    /// Creates a session waiting for CONNECT.
    public init(id: String, configuration: Configuration = .init()) {
        self.id = id
        self.configuration = configuration
    }

    /// The current subscriptions.
    public var allSubscriptions: [Subscription] { Array(subscriptions.values) }

    /// The subscription with session key `key`.
    public func subscription(key: Int) -> Subscription? {
        subscriptionIDsByKey[key].flatMap { subscriptions[$0] }
    }

    /// How header values are escaped in the frames of this session (other than CONNECTED).
    public var escaping: STOMPHeaderEscaping { state == .awaitingConnect ? .none : version.escaping }

    // MARK: Frames

    /// Handles one frame from the client.
    public mutating func receive(_ frame: STOMPFrame) -> [Action] {
        switch state {
        case .closed:
            return []
        case .awaitingConnect:
            guard frame.command == "CONNECT" || frame.command == "STOMP" else {
                return fail(.notConnected(command: frame.command), receipt: frame["receipt"])
            }
            return connect(frame)
        case .connected:
            let result: Result<[Action], STOMPSessionError>
            switch frame.command {
            case "SEND": result = send(frame)
            case "SUBSCRIBE": result = subscribe(frame)
            case "UNSUBSCRIBE": result = unsubscribe(frame)
            case "ACK", "NACK": result = acknowledge(frame, accept: frame.command == "ACK")
            case "BEGIN": result = begin(frame)
            case "COMMIT", "ABORT": result = finish(frame, commit: frame.command == "COMMIT")
            case "DISCONNECT": return disconnect(frame)
            case "CONNECT", "STOMP": result = .failure(.alreadyConnected)
            default: result = .failure(.unknownCommand(frame.command))
            }
            switch result {
            case .success(var actions):
                if let receipt = frame["receipt"] { actions.append(.send(Self.receipt(receipt))) }
                return actions
            case .failure(let error):
                return fail(error, receipt: frame["receipt"])
            }
        }
    }

    /// Ends the session with an ERROR frame (for errors found outside ``receive(_:)``: bad bytes, a full
    /// queue, a heart-beat timeout, shutdown).
    public mutating func fail(_ error: STOMPSessionError, receipt: String? = nil) -> [Action] {
        guard state != .closed else { return [] }
        state = .closed
        var headers: [(name: String, value: String)] = [("message", error.message), ("content-type", "text/plain")]
        if let receipt { headers.append(("receipt-id", receipt)) }
        if case .unsupportedVersion = error { headers.append(("version", "1.0,1.1,1.2")) }
        let frame = STOMPFrame("ERROR", headers: headers, body: ByteBuffer(string: error.detail))
        return [.send(frame), .close]
    }

    /// `stomp.connect_timeout` passed: a connection that has not sent CONNECT by now is ended.
    public mutating func connectTimedOut(seconds: Double) -> [Action] {
        guard state == .awaitingConnect else { return [] }
        return fail(.connectTimeout(seconds: seconds))
    }

    /// Handles the end of the connection: every subscription ends (queue messages not acknowledged go
    /// back to their queues).
    public mutating func connectionClosed() -> [Action] {
        state = .closed
        let ending = subscriptions.values.sorted { $0.key < $1.key }
        subscriptions = [:]
        subscriptionIDsByKey = [:]
        transactions = [:]
        return ending.map { .unsubscribe($0) }
    }

    // MARK: Heart-beats

    /// The negotiated intervals in milliseconds for a client offering `header` (`cx,cy`): the server
    /// sends every `send` ms and expects something every `receive` ms (0 = never). Nil when malformed.
    static func negotiateHeartBeats(_ header: String?, server: Int) -> (send: Int, receive: Int)? {
        guard let header else { return (0, 0) }
        let parts = header.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == 2,
            let cx = Int(parts[0].trimmingSpaces), let cy = Int(parts[1].trimmingSpaces), cx >= 0, cy >= 0
        else { return nil }
        // STOMP 1.2 "Heart-beating": each direction is the larger of what the sender can do and what the
        // receiver wants, or none when either side says 0.
        let send = (server == 0 || cy == 0) ? 0 : max(server, cy)
        let receive = (server == 0 || cx == 0) ? 0 : max(server, cx)
        return (send, receive)
    }

    /// Decides what the heart-beat timer does, given milliseconds since the last byte received and an upper
    /// bound of the silence on the sending side by the next tick.
    public mutating func heartBeatTick(
        sinceReceived: Int,
        sinceSent: Int,
        send: Int,
        receive: Int
    ) -> HeartBeatDecision {
        guard state == .connected else { return .nothing }
        // The specification lets the receiver allow for timing error; twice the interval is the grace.
        if receive > 0 && sinceReceived > 2 * receive {
            return .timedOut(fail(.heartBeatTimeout(milliseconds: 2 * receive)))
        }
        if send > 0 && sinceSent > send { return .sendHeartBeat }
        return .nothing
    }

    public enum HeartBeatDecision: Sendable {
        case nothing
        case sendHeartBeat
        case timedOut([Action])
    }

    // MARK: Commands

    private mutating func connect(_ frame: STOMPFrame) -> [Action] {
        let offered = frame["accept-version"] ?? "1.0"
        let versions = offered.split(separator: ",").compactMap { STOMPVersion(rawValue: String($0.trimmingSpaces)) }
        guard let chosen = versions.max() else {
            return fail(.unsupportedVersion(offered: offered), receipt: frame["receipt"])
        }
        version = chosen
        if !configuration.users.isEmpty {
            let user = frame["login"].flatMap { configuration.users[$0] }
            guard (user ?? .nobody).accepts(passcode: frame["passcode"] ?? ""), let user else {
                return fail(.accessRefused)
            }
            principal = .account(user.grants)
        }
        guard let beats = Self.negotiateHeartBeats(frame["heart-beat"], server: configuration.heartBeatMilliseconds)
        else {
            return fail(
                .invalidHeader(
                    command: frame.command,
                    header: "heart-beat",
                    value: frame["heart-beat"] ?? "",
                    expected: "two non-negative integers, 'cx,cy'"
                )
            )
        }
        state = .connected
        // CONNECTED states what the server can do and wants (its own sx,sy, as the specification
        // describes); both sides then compute the same intervals from the two headers.
        let offer = configuration.heartBeatMilliseconds
        let headers: [(name: String, value: String)] = [
            ("version", chosen.rawValue),
            ("heart-beat", "\(offer),\(offer)"),
            ("server", configuration.serverName),
            ("session", id),
        ]
        var actions: [Action] = [.send(STOMPFrame("CONNECTED", headers: headers))]
        if beats.send > 0 || beats.receive > 0 {
            actions.append(.startHeartBeats(send: beats.send, receive: beats.receive))
        }
        return actions
    }

    private mutating func send(_ frame: STOMPFrame) -> Result<[Action], STOMPSessionError> {
        guard let destinationText = frame["destination"] else {
            return .failure(.missingHeader(command: "SEND", header: "destination"))
        }
        let destination: STOMPDestination
        let temporary: Bool
        switch STOMPDestination.parse(destinationText, session: id, maxNameLength: configuration.maxNameLength) {
        case .success(let parsed):
            destination = parsed.0
            temporary = parsed.temporaryName != nil
        case .failure(let error): return .failure(error)
        }
        if let refusal = refusal(of: .publish, to: destination, command: "SEND") { return .failure(refusal) }
        var actions: [Action] = []
        var headers: [MessageHeader] = []
        var seen: Set<String> = []
        for header in frame.headers where !Self.protocolHeaders.contains(header.name) {
            guard seen.insert(header.name).inserted else { continue }
            var value = header.value
            if header.name == "reply-to", value.hasPrefix("/temp-queue/") {
                // Request/reply: the reply queue is private to this connection, which is subscribed to it.
                switch replyQueue(value) {
                case .success(let (realName, subscribe)):
                    value = STOMPDestination.queue(realName).text
                    actions += subscribe
                case .failure(let error): return .failure(error)
                }
            }
            headers.append(MessageHeader(name: header.name, value: value))
        }
        let transaction = frame["transaction"]
        // A SEND held in a transaction keeps its own bytes, not the read buffer it came in.
        let body = transaction == nil ? frame.body : Hub.detached(frame.body)
        var request = PublishRequest(payload: body, contentType: frame["content-type"], headers: headers)
        request.source = MemoryBudget.Source(principal)
        let effect: Action
        switch destination {
        case .topic(let channel): effect = .publish(channel, request)
        case .queue(let name):
            effect = .enqueue(
                queue: name,
                request,
                temporary: temporary || name.hasPrefix(STOMPDestination.temporaryQueuePrefix)
            )
        }
        if let transaction {
            // What the transaction holds: the body, its headers and the bookkeeping, as the memory budget
            // counts a retained message (empty bodies with large headers are not free).
            let bytes = MemoryBudget.cost(
                payload: body.readableBytes,
                contentType: request.contentType,
                eventType: nil,
                headers: headers
            )
            return enlist(effect, bytes: bytes, in: transaction).map { actions }
        }
        return .success(actions + [effect])
    }

    /// Why the policy refuses `operation` on `destination` for this connection, if it does. A temporary
    /// queue is a capability: its name (with the owner's random session id) is known only to those the
    /// owner gave it in `reply-to`, so anyone connected may send to it; only the owner consumes it.
    private func refusal(
        of operation: ChannelPolicy.Operation,
        to destination: STOMPDestination,
        command: String
    ) -> STOMPSessionError? {
        let decision: ChannelPolicy.Decision
        switch destination {
        case .topic(let channel):
            decision = configuration.policy.decide(operation, channel.rawValue, by: principal)
        case .queue(let name) where name.hasPrefix(STOMPDestination.temporaryQueuePrefix):
            decision = .allowed
        case .queue(let name):
            decision = configuration.policy.decide(operation, name, destination: .queue, by: principal)
        }
        guard case .denied(let reason) = decision else { return nil }
        return .permissionDenied(command: command, reason: reason)
    }

    /// The real name of the temporary queue `/temp-queue/NAME`, and a subscription to it when this is the
    /// first time the connection names it.
    private mutating func replyQueue(_ text: String) -> Result<(String, [Action]), STOMPSessionError> {
        switch STOMPDestination.parse(text, session: id, maxNameLength: configuration.maxNameLength) {
        case .failure(let error): return .failure(error)
        case .success(let (destination, _)):
            guard case .queue(let realName) = destination else { return .success(("", [])) }
            if subscriptions.values.contains(where: { $0.destination == destination }) {
                return .success((realName, []))
            }
            guard subscriptions[text] == nil else { return .failure(.duplicateSubscription(text)) }
            guard subscriptions.count < configuration.maxSubscriptions else {
                return .failure(.tooManySubscriptions(limit: configuration.maxSubscriptions))
            }
            let subscription = add(
                id: text,
                destination: destination,
                ackMode: .auto,
                prefetch: configuration.defaultPrefetch
            )
            return .success((realName, [.subscribe(subscription, resumeAfter: nil)]))
        }
    }

    private mutating func subscribe(_ frame: STOMPFrame) -> Result<[Action], STOMPSessionError> {
        guard let destinationText = frame["destination"] else {
            return .failure(.missingHeader(command: "SUBSCRIBE", header: "destination"))
        }
        let id: String
        if let given = frame["id"] {
            id = given
        } else if version == .v10 {
            id = destinationText
        } else {
            return .failure(.missingHeader(command: "SUBSCRIBE", header: "id"))
        }
        let destination: STOMPDestination
        switch STOMPDestination.parse(destinationText, session: self.id, maxNameLength: configuration.maxNameLength) {
        case .success(let parsed): destination = parsed.0
        case .failure(let error): return .failure(error)
        }
        if case .queue(let name) = destination, name.hasPrefix(STOMPDestination.temporaryQueuePrefix),
            !name.hasPrefix(STOMPDestination.temporaryQueueName("", session: self.id))
        {
            return .failure(.temporaryQueueNotOwned(name))
        }
        if let refusal = refusal(of: .subscribe, to: destination, command: "SUBSCRIBE") { return .failure(refusal) }
        guard subscriptions[id] == nil else { return .failure(.duplicateSubscription(id)) }
        guard subscriptions.count < configuration.maxSubscriptions else {
            return .failure(.tooManySubscriptions(limit: configuration.maxSubscriptions))
        }
        let ackText = frame["ack"] ?? "auto"
        guard let ackMode = STOMPAckMode(rawValue: ackText) else {
            return .failure(
                .invalidHeader(
                    command: "SUBSCRIBE",
                    header: "ack",
                    value: ackText,
                    expected: "auto, client or client-individual"
                )
            )
        }
        var prefetch = configuration.defaultPrefetch
        if let text = frame["prefetch-count"] {
            guard let value = Int(text), (1...1_000_000).contains(value) else {
                return .failure(
                    .invalidHeader(
                        command: "SUBSCRIBE",
                        header: "prefetch-count",
                        value: text,
                        expected: "an integer from 1 to 1000000"
                    )
                )
            }
            prefetch = value
        }
        var resumeAfter: StreamPosition?
        if let text = frame["last-event-id"], case .topic = destination {
            guard let position = StreamPosition(parsing: text) else {
                return .failure(
                    .invalidHeader(
                        command: "SUBSCRIBE",
                        header: "last-event-id",
                        value: text,
                        expected: "a message id, EPOCH:OFFSET"
                    )
                )
            }
            resumeAfter = position
        }
        let subscription = add(id: id, destination: destination, ackMode: ackMode, prefetch: prefetch)
        return .success([.subscribe(subscription, resumeAfter: resumeAfter)])
    }

    private mutating func add(
        id: String,
        destination: STOMPDestination,
        ackMode: STOMPAckMode,
        prefetch: Int
    ) -> Subscription {
        let subscription = Subscription(
            id: id,
            key: nextKey,
            destination: destination,
            ackMode: ackMode,
            prefetch: prefetch
        )
        nextKey += 1
        subscriptions[id] = subscription
        subscriptionIDsByKey[subscription.key] = id
        return subscription
    }

    private mutating func unsubscribe(_ frame: STOMPFrame) -> Result<[Action], STOMPSessionError> {
        var id = frame["id"]
        if id == nil, version == .v10, let destination = frame["destination"] {
            id = subscriptions.values.first { $0.destination.text == destination }?.id ?? destination
        }
        guard let id else { return .failure(.missingHeader(command: "UNSUBSCRIBE", header: "id")) }
        guard let subscription = subscriptions.removeValue(forKey: id) else {
            return .failure(.unknownSubscription(id))
        }
        subscriptionIDsByKey[subscription.key] = nil
        return .success([.unsubscribe(subscription)])
    }

    /// ACK and NACK. Queue deliveries carry `ack` (1.2) / `message-id` (1.0, 1.1) values `KEY.TAG`: the
    /// subscription's key and the delivery's tag. Topic messages carry their channel id: acknowledging
    /// them is accepted and does nothing (a topic does not redeliver).
    private mutating func acknowledge(_ frame: STOMPFrame, accept: Bool) -> Result<[Action], STOMPSessionError> {
        let header = version == .v12 ? "id" : "message-id"
        guard let ackID = frame[header] ?? frame[version == .v12 ? "message-id" : "id"] else {
            return .failure(.missingHeader(command: frame.command, header: header))
        }
        if version == .v11, frame["subscription"] == nil {
            return .failure(.missingHeader(command: frame.command, header: "subscription"))
        }
        if let position = StreamPosition(parsing: ackID), !position.epoch.isEmpty {
            return .success([])  // a topic message
        }
        let parts = ackID.split(separator: ".")
        guard parts.count == 2, let key = Int(parts[0]), let tag = UInt64(parts[1]), key > 0, key < nextKey else {
            return .failure(.unknownAckID(ackID))
        }
        guard let subscription = subscription(key: key) else {
            // The subscription has ended; its unacknowledged messages already went back to the queue.
            return .success([])
        }
        guard subscription.ackMode != .auto else { return .failure(.unknownAckID(ackID)) }
        let effect = Action.settle(
            subscriptionKey: key,
            tag: tag,
            accept: accept,
            cumulative: subscription.ackMode == .client
        )
        if let transaction = frame["transaction"] {
            return enlist(effect, bytes: Self.settleCost, in: transaction).map { [] }
        }
        return .success([effect])
    }

    /// What an ACK or NACK held in a transaction costs.
    static let settleCost = 96

    /// Adds `action` (holding `bytes` bytes) to `transaction`, within the per-transaction limits.
    private mutating func enlist(
        _ action: Action,
        bytes: Int,
        in transaction: String
    ) -> Result<Void, STOMPSessionError> {
        guard var open = transactions[transaction] else { return .failure(.unknownTransaction(transaction)) }
        guard open.actions.count < configuration.maxTransactionFrames else {
            return .failure(.transactionTooLarge(transaction, limit: configuration.maxTransactionFrames))
        }
        guard open.bytes + bytes <= configuration.maxTransactionBytes else {
            return .failure(.transactionBytesExceeded(transaction, limit: configuration.maxTransactionBytes))
        }
        transactions[transaction] = nil  // keep the array uniquely referenced while appending
        open.actions.append(action)
        open.bytes += bytes
        transactions[transaction] = open
        return .success(())
    }

    private mutating func begin(_ frame: STOMPFrame) -> Result<[Action], STOMPSessionError> {
        guard let transaction = frame["transaction"] else {
            return .failure(.missingHeader(command: "BEGIN", header: "transaction"))
        }
        guard transactions[transaction] == nil else { return .failure(.duplicateTransaction(transaction)) }
        guard transactions.count < configuration.maxTransactions else {
            return .failure(.tooManyTransactions(limit: configuration.maxTransactions))
        }
        transactions[transaction] = Transaction()
        return .success([])
    }

    private mutating func finish(_ frame: STOMPFrame, commit: Bool) -> Result<[Action], STOMPSessionError> {
        guard let transaction = frame["transaction"] else {
            return .failure(.missingHeader(command: frame.command, header: "transaction"))
        }
        guard let open = transactions.removeValue(forKey: transaction) else {
            return .failure(.unknownTransaction(transaction))
        }
        return .success(commit ? open.actions : [])
    }

    private mutating func disconnect(_ frame: STOMPFrame) -> [Action] {
        state = .closed
        var actions: [Action] = []
        if let receipt = frame["receipt"] { actions.append(.send(Self.receipt(receipt))) }
        actions.append(.close)
        return actions
    }

    static func receipt(_ id: String) -> STOMPFrame {
        STOMPFrame("RECEIPT", headers: [("receipt-id", id)])
    }

}
