import DequeModule
import Foundation
import NIOCore
import SwitchboardAuth
import SwitchboardCore
import SwitchboardHTTP

/// One Socket.IO socket: a client connected to one namespace. Rooms are Switchboard channels, joined and
/// left with the built-in events `subscribe` and `unsubscribe`; `publish` publishes into one; a channel
/// message arrives as an event (``SocketIOEventEncoder``). Other events go to the back end's hook, whose
/// answer is the acknowledgement. Confined to its connection's event loop.
final class SocketIOSocket: ChannelSubscriber, EventLoopConfined {
    enum State {
        /// Waiting for the connect hook.
        case connecting
        case connected
        case ended
    }

    let namespace: String
    private let connection: SocketIOConnection
    private(set) var id: String
    private(set) var state = State.connecting
    private(set) var user: String?
    /// Who the socket is for the policy: anonymous unless its credential grants more.
    private var principal = Principal.anonymous
    /// Ends the socket when the token of its `auth` expires (`expiresAt`, milliseconds).
    private var expiry: Scheduled<Void>?
    private var expiresAt: Int64?
    /// Events at the back end's hook now (`socketio.max_concurrent_calls`).
    private var callsInFlight = 0
    /// The private id of connection state recovery (nil when it is off).
    /// The acknowledgements `POST /api/socketio/emit` waits for from this socket (an empty set costs no
    /// allocation).
    private var awaitedAcks: Set<UInt64> = []
    /// Connection state recovery's bookkeeping, when it is on (boxed: most servers run without it).
    private var recovery: Recovery?
    /// The rooms (an array: sockets are in a room or two, and a dictionary costs more per connection).
    private var subscriptions = CompactList<Subscription>()
    private let format: WireFormat
    private let connectedAt = WallClock.milliseconds()

    init(connection: SocketIOConnection, namespace: String) {
        self.connection = connection
        self.namespace = namespace
        self.id = RandomID.make(length: 15)  // stored inline (see EngineIOSession.id)
        self.format = connection.session.server.eventFormat(namespace: namespace)
    }

    var eventLoop: any EventLoop { connection.session.eventLoop }
    private var service: HTTPService { connection.service }
    private var configuration: SocketIOConfiguration { connection.configuration }
    private var recovers: Bool { configuration.recoveryWindow > 0 }

    // MARK: Connecting

    /// The CONNECT packet: recovers the state of an earlier socket when the auth names one, asks the
    /// connect hook when there is one, then answers.
    func start(auth: [String: Any]) {
        var auth = auth
        let recoveryPID = auth.removeValue(forKey: "pid") as? String
        let recoveryOffset = auth.removeValue(forKey: "offset") as? String
        if let token = auth["token"], service.tokens != nil {
            // A signed token names the user and grants channels, as on the native protocol. (A server
            // without token keys passes `auth` on to the connect hook untouched: apps' own tokens.)
            switch verify(token) {
            case .failure(let error):
                refuse(error.reason, data: nil)
                return
            case .success(let identity):
                user = identity.user
                principal = .client(identity.grants)
                scheduleExpiry(at: identity.expiresAt)
            }
        }
        let presentedToken = user != nil
        if recovers, let recoveryPID, let kept = connection.registry.take(pid: recoveryPID),
            kept.namespace == namespace, user == nil || user == kept.user,
            // A state kept past its token's expiry is not recovered: the client needs a new token.
            kept.expiresAt.map({ $0 > WallClock.milliseconds() }) ?? true,
            recover(kept, offset: recoveryOffset, presentedToken: presentedToken)
        {
            return
        }
        if recovers { recovery = Recovery(pid: RandomID.make(length: 24)) }
        guard let url = configuration.hookURL, configuration.hooks.contains("connect"), let backend = service.backend
        else {
            connected(auth: auth, rooms: [])
            return
        }
        var body = hookBody("connect")
        body["auth"] = auth
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let authBox = BackendHook.Object(value: auth)
        connection.askHook("connect", body: body, url: url, backend: backend).whenSuccess { answer in
            bound.value.connectHookAnswered(answer, auth: authBox.value)
        }
    }

    private func connectHookAnswered(_ answer: BackendHook.Answer, auth: [String: Any]) {
        guard state == .connecting, !connection.session.isClosed else { return }
        switch answer {
        case .failed(let reason):
            refuse(reason, data: nil)
        case .answered(let object):
            let answer = object.value
            if answer["allow"] as? Bool == false {
                refuse(answer["reason"] as? String ?? "refused by the back end", data: answer["data"])
                return
            }
            if let user = answer["user"] as? String, !user.isEmpty { self.user = user }
            var rooms: [ChannelName] = []
            for name in answer["rooms"] as? [String] ?? [] {
                if let channel = try? ChannelName(
                    validating: name,
                    maxLength: service.configuration.maxChannelNameLength
                ) {
                    rooms.append(channel)
                }
            }
            connected(auth: auth, rooms: rooms)
        }
    }

    private func verify(_ token: Any) -> Result<TokenIdentity, TokenError> {
        guard let token = token as? String else { return .failure(TokenError("\"token\" must be a string")) }
        guard let tokens = service.tokens else {
            return .failure(TokenError("this server accepts no tokens (security.token_secret, security.jwks)"))
        }
        return tokens.verify(token, now: WallClock.milliseconds())
    }

    /// Ends the socket when its token expires: a server-side namespace disconnect, after which stock
    /// clients do not reconnect by themselves (they need a new token).
    private func scheduleExpiry(at expiresAt: Int64?) {
        expiry?.cancel()
        expiry = nil
        self.expiresAt = expiresAt
        guard let expiresAt else { return }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let delay = WallClock.delay(until: expiresAt)
        expiry = eventLoop.scheduleTask(in: delay) {
            let socket = bound.value
            guard socket.state != .ended else { return }
            socket.connection.send(SocketIOPacket(.disconnect, namespace: socket.namespace))
            socket.connection.session.flush()
            socket.ended(reason: DisconnectReason.tokenExpired.text, recoverable: false)
        }
    }

    /// CONNECT_ERROR `{"message": reason, "data": ...}`: the client gets `connect_error`.
    private func refuse(_ reason: String, data: Any?) {
        state = .ended
        expiry?.cancel()
        var payload: [String: Any] = ["message": reason]
        if let data, !(data is NSNull) { payload["data"] = data }
        connection.send(SocketIOPacket(.connectError, namespace: namespace, data: payload))
        connection.session.flush()
        connection.socketEnded(self)
    }

    private func connected(auth: [String: Any], rooms: [ChannelName]) {
        state = .connected
        register()
        connection.socketConnected()
        sendConnect()
        for room in rooms { _ = try? join(room, since: nil) }
        connection.session.flush()
        if configuration.conformance {
            // The reference test server emits `auth` from its connection handler, in a later write; the
            // suite's client sees two messages only when they arrive in separate reads, hence the pause.
            let bound = NIOLoopBound((self, BackendHook.Object(value: auth)), eventLoop: eventLoop)
            eventLoop.scheduleTask(in: .milliseconds(5)) {
                let (socket, auth) = bound.value
                socket.connection.send(SocketIOPacket(.event, namespace: socket.namespace, data: ["auth", auth.value]))
                socket.connection.session.flush()
            }
        }
    }

    private func sendConnect() {
        var handshake: [String: Any] = ["sid": id]
        if let pid = recovery?.pid { handshake["pid"] = pid }
        connection.send(SocketIOPacket(.connect, namespace: namespace, data: handshake))
    }

    private func register() {
        connection.registry.add(self)
    }

    /// What `GET /api/socketio/sockets` shows of this socket.
    var info: SocketIORegistry.Info {
        SocketIORegistry.Info(
            sid: id,
            namespace: namespace,
            user: user,
            rooms: subscriptions.map(\.channel.rawValue).sorted(),
            transport: connection.session.transport.rawValue,
            connectedAt: connectedAt
        )
    }

    private func subscription(of channel: ChannelName) -> Subscription? {
        subscriptions.first { $0.channel == channel }
    }

    /// Connection state recovery: the same socket id, its rooms, and what the client missed. False when
    /// a room's history no longer holds it (the client then gets a new socket, `recovered` false).
    /// Without a new token (`presentedToken`), the socket is again what the kept token made it, until
    /// that token expires.
    private func recover(_ kept: SocketIORegistry.Recoverable, offset: String?, presentedToken: Bool) -> Bool {
        // What the client may not have: the messages after the last one it says it got.
        var missing = kept.unconfirmed[...]
        if let offset, let index = missing.lastIndex(where: { SocketIOEventEncoder.offset(of: $0) == offset }) {
            missing = missing[(index + 1)...]
        }
        var resumeFrom = kept.rooms
        for message in missing.reversed() where resumeFrom[message.channel] != nil {
            resumeFrom[message.channel] = StreamPosition(
                epoch: message.position.epoch,
                offset: message.position.offset - 1
            )
        }
        var backlog: [Message] = []
        var backlogBytes = 0
        for (channel, position) in resumeFrom {
            // A room gone (the channel limit), a gap, or more missed bytes than one answer may carry: the
            // state cannot be recovered whole, so the client gets a new socket.
            guard
                let (subscription, resume) = try? service.hub.subscribe(
                    self,
                    to: channel,
                    from: position,
                    format: format,
                    on: eventLoop
                )
            else {
                abandonRecovery()
                return false
            }
            subscriptions.append(subscription)
            backlogBytes += resume.messages.reduce(0) { $0 + $1.payload.readableBytes }
            guard resume.gap == nil, backlogBytes <= replyBudget else {
                abandonRecovery()
                return false
            }
            backlog += resume.messages
        }
        id = kept.sid
        recovery = Recovery(pid: kept.pid)
        user = user ?? kept.user
        if !presentedToken {
            principal = kept.principal
            scheduleExpiry(at: kept.expiresAt)
        }
        state = .connected
        register()
        connection.socketConnected()
        sendConnect()
        for message in backlog.sorted(by: { $0.timestamp < $1.timestamp }) { write(message) }
        connection.session.flush()
        return true
    }

    // MARK: Packets

    func received(_ packet: SocketIOPacket) {
        guard state == .connected else { return }
        switch packet.kind {
        case .event, .binaryEvent:
            guard let arguments = packet.data as? [Any], let first = arguments.first else { return }
            let name = (first as? String) ?? "\(first)"
            event(name, Array(arguments.dropFirst()), ack: packet.id)
        case .ack, .binaryAck:
            // Only the acknowledgements this socket was asked for: call ids are not secrets, and another
            // client must not answer a call meant for this one.
            guard let id = packet.id, awaitedAcks.remove(id) != nil else { return }
            let arguments = SocketIOBinary.base64Encoded(packet.data ?? [Any]())
            let json = JSONText.encode(arguments).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
            _ = service.calls.answer(id, .result(json))
        case .disconnect:
            ended(reason: "client namespace disconnect", recoverable: false)
        case .connect, .connectError:
            break
        }
    }

    private func event(_ name: String, _ arguments: [Any], ack: UInt64?) {
        if configuration.conformance, let handled = conformanceEvent(name, arguments, ack: ack), handled { return }
        let options = arguments.first as? [String: Any] ?? [:]
        switch name {
        case "subscribe":
            let (result, backlog) = subscribe(options)
            // The acknowledgement first, then the missed messages, before any live one (same loop turn).
            reply(ack, result)
            for message in backlog { write(message) }
        case "unsubscribe": reply(ack, unsubscribe(options))
        case "publish": reply(ack, publish(options))
        default: forward(name, arguments, ack: ack)
        }
        connection.session.flush()
    }

    /// The reference test server's events (`socketio.conformance`): `message` → `message-back`,
    /// `message-with-ack` → acknowledged with its arguments.
    private func conformanceEvent(_ name: String, _ arguments: [Any], ack: UInt64?) -> Bool? {
        switch name {
        case "message":
            connection.send(SocketIOPacket(.event, namespace: namespace, data: ["message-back"] + arguments))
        case "message-with-ack":
            guard let ack else { return true }
            connection.send(SocketIOPacket(.ack, namespace: namespace, id: ack, data: arguments))
        default:
            return nil
        }
        connection.session.flush()
        return true
    }

    private func reply(_ ack: UInt64?, _ result: [String: Any]) {
        guard let ack else { return }
        connection.send(SocketIOPacket(.ack, namespace: namespace, id: ack, data: [result]))
    }

    private static func failure(_ message: String) -> [String: Any] {
        ["ok": false, "error": message]
    }

    /// The event's channel; with `operation`, only when the policy lets this socket do that there.
    private func channel(
        _ options: [String: Any],
        for operation: ChannelPolicy.Operation? = nil
    ) -> Result<ChannelName, SocketIOFailure> {
        guard let name = options["channel"] as? String else {
            return .failure(SocketIOFailure("\"channel\" (a string) is required"))
        }
        let channel: ChannelName
        do {
            channel = try ChannelName(validating: name, maxLength: service.configuration.maxChannelNameLength)
        } catch {
            return .failure(SocketIOFailure(error.description))
        }
        if let operation,
            case .denied(let reason) = service.configuration.policy.decide(operation, channel.rawValue, by: principal)
        {
            return .failure(SocketIOFailure(reason))
        }
        return .success(channel)
    }

    // MARK: Built-in events

    private func subscribe(_ options: [String: Any]) -> ([String: Any], [Message]) {
        let channel: ChannelName
        switch self.channel(options, for: .subscribe) {
        case .failure(let failure): return (Self.failure(failure.message), [])
        case .success(let name): channel = name
        }
        var since: StreamPosition?
        if let text = options["since"] as? String {
            guard let position = StreamPosition(parsing: text) else {
                return (Self.failure("\"since\" is a message id (EPOCH:OFFSET)"), [])
            }
            since = position
        }
        if subscription(of: channel) == nil, subscriptions.count >= service.configuration.maxChannelsPerSubscription {
            let limit = service.configuration.maxChannelsPerSubscription
            return (Self.failure("a socket may be in \(limit) rooms (limits.max_channels_per_subscription)"), [])
        }
        let joined: ResumeResult?
        do {
            joined = try join(channel, since: since)
        } catch {
            return (Self.failure(error.message), [])
        }
        guard let resume = joined else {
            return (["ok": true, "channel": channel.rawValue, "already": true], [])
        }
        var result: [String: Any] = [
            "ok": true, "channel": channel.rawValue, "position": resume.position.description,
            "recovered": since != nil && resume.gap == nil,
        ]
        if let gap = resume.gap { result["gap"] = gap.rawValue }
        return (result, resume.messages)
    }

    private func abandonRecovery() {
        for subscription in subscriptions { service.hub.unsubscribe(subscription, on: eventLoop) }
        subscriptions.removeAll()
    }

    /// The most one answer may carry (missed messages): half the connection's output budget.
    private var replyBudget: Int { service.configuration.maxOutboundBytes / 2 }

    /// Joins a room; nil when the socket is in it already. The missed messages are cut to what one answer
    /// may carry.
    private func join(_ channel: ChannelName, since: StreamPosition?) throws(HubRefusal) -> ResumeResult? {
        guard subscription(of: channel) == nil else { return nil }
        let (subscription, resume) = try service.hub.subscribe(
            self,
            to: channel,
            from: since,
            format: format,
            on: eventLoop
        )
        subscriptions.append(subscription)
        return resume.limited(toBytes: replyBudget)
    }

    private func unsubscribe(_ options: [String: Any]) -> [String: Any] {
        switch channel(options) {
        case .failure(let failure):
            return Self.failure(failure.message)
        case .success(let channel):
            let subscription = subscription(of: channel)
            if let subscription {
                subscriptions.remove(subscription)
                service.hub.unsubscribe(subscription, on: eventLoop)
            }
            return ["ok": true, "channel": channel.rawValue, "was_subscribed": subscription != nil]
        }
    }

    private func publish(_ options: [String: Any]) -> [String: Any] {
        let channel: ChannelName
        switch self.channel(options, for: .publish) {
        case .failure(let failure): return Self.failure(failure.message)
        case .success(let name): channel = name
        }
        var request: PublishRequest
        if let binary = options["data"] as? ByteBuffer {
            request = PublishRequest(payload: binary, contentType: "application/octet-stream")
        } else {
            do {
                request = try JSONPublishFields.request(
                    from: options,
                    maxMessageSize: service.configuration.maxMessageSize
                )
            } catch {
                return Self.failure(error.message)
            }
        }
        request.eventType = options["event"] as? String
        request.source = MemoryBudget.Source(principal)
        guard request.payload.readableBytes <= service.configuration.maxMessageSize else {
            return Self.failure("the message is over \(service.configuration.maxMessageSize) bytes")
        }
        do {
            let result = try service.hub.publish(request, to: channel)
            return ["ok": true, "channel": channel.rawValue, "id": result.message.position.description]
        } catch {
            return Self.failure(error.message)
        }
    }

    /// Any other event: to the back end's `event` hook, whose JSON answer is the acknowledgement.
    private func forward(_ name: String, _ arguments: [Any], ack: UInt64?) {
        guard let url = configuration.hookURL, configuration.hooks.contains("event"), let backend = service.backend
        else {
            reply(ack, Self.failure("no handler for event \"\(name)\" (socketio.hook_url)"))
            return
        }
        guard callsInFlight < configuration.maxConcurrentCalls else {
            reply(
                ack,
                Self.failure(
                    "\(configuration.maxConcurrentCalls) events are already at the back end (socketio.max_concurrent_calls)"
                )
            )
            return
        }
        var body = hookBody("event")
        body["name"] = name
        body["args"] = SocketIOBinary.base64Encoded(arguments)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        callsInFlight += 1
        BackendHook.ask(
            backend,
            url: url,
            event: "event",
            body: body,
            timeoutSeconds: service.configuration.backendTimeout,
            on: eventLoop
        ).whenSuccess { answer in
            let socket = bound.value
            socket.callsInFlight -= 1
            guard socket.state == .connected, let ack else { return }
            switch answer {
            case .answered(let object): socket.reply(ack, object.value)
            case .failed(let reason): socket.reply(ack, Self.failure(reason))
            }
            socket.connection.session.flush()
        }
    }

    private func hookBody(_ event: String) -> [String: Any] {
        ["event": event, "namespace": namespace, "sid": id, "user": user ?? NSNull()]
    }

    // MARK: Server API

    /// `POST /api/socketio/emit` to this socket; `ack` is the call that waits for the client's answer.
    func emit(_ event: String, _ arguments: [Any], ack: UInt64?) {
        guard state == .connected else {
            if let ack { service.calls.cancel(ack) }
            return
        }
        if let ack {
            // Forgotten when answered; an unanswered one stays until the socket ends (the call times out).
            awaitedAcks.insert(ack)
        }
        connection.send(SocketIOPacket(.event, namespace: namespace, id: ack, data: [event] + arguments))
        connection.session.flush()
    }

    // MARK: Ending

    /// The socket is gone: leave its rooms, tell the back end, and keep its state when it may recover.
    func ended(reason: String, recoverable: Bool) {
        guard state != .ended else { return }
        expiry?.cancel()
        expiry = nil
        let wasConnected = state == .connected
        state = .ended
        connection.socketEnded(self)
        guard wasConnected else { return }
        connection.registry.remove(sid: id)
        var rooms: [ChannelName: StreamPosition] = [:]
        for subscription in subscriptions {
            rooms[subscription.channel] = subscription.position
            service.hub.unsubscribe(subscription, on: eventLoop)
        }
        subscriptions.removeAll()
        if recoverable, let recovery {
            connection.registry.keep(
                SocketIORegistry.Recoverable(
                    sid: id,
                    pid: recovery.pid,
                    namespace: namespace,
                    user: user,
                    principal: principal,
                    expiresAt: expiresAt,
                    rooms: rooms,
                    unconfirmed: Array(recovery.unconfirmed)
                ),
                seconds: configuration.recoveryWindow,
                on: eventLoop
            )
        }
        recovery = nil
        if let url = configuration.hookURL, configuration.hooks.contains("disconnect"), let backend = service.backend {
            var body = hookBody("disconnect")
            body["reason"] = reason
            // Told, not asked: nobody waits for the answer (but it counts while it is at the back end).
            _ = connection.askHook("disconnect", body: body, url: url, backend: backend)
        }
    }

    // MARK: Heartbeat (recovery bookkeeping)

    func pingSent() {
        recovery?.writtenBeforePing = recovery?.unconfirmed.count ?? 0
    }

    func pongReceived() {
        guard let recovery else { return }
        recovery.unconfirmed.removeFirst(min(recovery.writtenBeforePing, recovery.unconfirmed.count))
        recovery.writtenBeforePing = 0
    }

    // MARK: ChannelSubscriber

    private func write(_ message: Message) {
        let encoder = SocketIOEventEncoder(namespace: namespace, includesOffset: recovers)
        connection.session.send(frames: encoder.encode(message, allocator: service.allocator))
        recovery?.unconfirmed.append(message)
    }

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        guard state == .connected else { return }
        let session = connection.session
        guard session.isWritable else {
            // A slow consumer: it is disconnected (and may recover what it missed when it comes back —
            // this message included: the hub counts it as delivered).
            recovery?.unconfirmed.append(delivery.message)
            session.close(.transportError)
            return
        }
        session.send(frames: delivery.encoded(format, allocator: service.allocator))
        recovery?.unconfirmed.append(delivery.message)
        if flush { session.flush() }
    }

    func channelDeleted(_ subscription: Subscription) {
        subscriptions.remove(subscription)
        connection.send(
            SocketIOPacket(
                .event,
                namespace: namespace,
                data: ["unsubscribed", ["channel": subscription.channel.rawValue, "reason": "channel-deleted"]]
            )
        )
        connection.session.flush()
    }
}

/// Why a built-in event failed (its acknowledgement says so).
struct SocketIOFailure: Error {
    let message: String
    init(_ message: String) { self.message = message }
}

/// A socket's connection state recovery bookkeeping: its private id, the messages written since the last
/// ping the client answered (it may not have them), and how many were written before the ping in flight.
private final class Recovery {
    let pid: String
    var unconfirmed: Deque<Message> = []
    var writtenBeforePing = 0

    init(pid: String) { self.pid = pid }
}
