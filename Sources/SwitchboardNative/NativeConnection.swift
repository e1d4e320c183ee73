import Atomics
import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardHTTP

/// One native-protocol connection, whatever carries it (``NativeTransport``: a WebSocket, an SSE stream
/// with commands by POST, or long-polls with commands by POST): every command is run through the pure
/// ``NativeSession``; this object carries out the session's actions against the hub, the registries and
/// the back end, and writes replies and pushes to its transport. Confined to its event loop.
final class NativeConnection: ChannelSubscriber, EventLoopConfined {

    /// The hidden channel that carries `POST /api/send` messages to a user's connections (`$` is not
    /// allowed in channel names, so no client can subscribe to it by name).
    static func userChannel(_ user: String) -> ChannelName {
        ChannelName(unchecked: "$user:" + user)
    }

    let service: HTTPService
    private let native: NativeFrontEnd
    let eventLoop: any EventLoop
    var session: NativeSession
    let clientID: String
    private var subscriptions: [ChannelName: Subscription] = [:]
    /// Where output goes; nil once the connection has ended.
    private(set) var transport: (any NativeTransport)?
    var closing = false
    /// The connection's user and client info, from `connect`.
    var user: String?
    private var info: String?
    /// Channels where this connection is in the presence list.
    private var present: Set<ChannelName> = []
    private var rateLimiter: CommandRateLimiter
    /// While the back end's hook is asked about a command, later commands wait here, to run in order
    /// (at most ``maxHeldCommands``, of at most half the output budget in all).
    private var held: [(command: NativeCommand, bytes: Int)] = []
    private var heldBytes = 0
    static let maxHeldCommands = 64
    private var awaiting = false
    /// The calls (`POST /api/call`) pushed to this connection and not answered yet: only they may be
    /// answered from here (call ids are sequential, not secrets).
    private var awaitedCalls: Set<UInt64> = []
    /// The hub format of pushes for this transport.
    private let pushFormat: WireFormat
    /// Ends the connection when its token expires without a `refresh` — and, until it is connected, when
    /// `native.connect_timeout` passes without a `connect` (an idle socket that answers pings would
    /// otherwise hold a connection slot for ever).
    private var expiry: Scheduled<Void>?
    /// Requests to the back end (`rpc`, hooks) this connection has in flight: at most
    /// `native.max_concurrent_calls`, so one client cannot turn into hundreds of back-end requests.
    var callsInFlight = 0

    init(service: HTTPService, native: NativeFrontEnd, transport: any NativeTransport, eventLoop: any EventLoop) {
        self.service = service
        self.native = native
        self.transport = transport
        self.eventLoop = eventLoop
        self.pushFormat = native.pushFormat(transport.framing)
        let configuration = service.configuration
        self.session = NativeSession(
            configuration: NativeSession.Configuration(
                maxSubscriptions: configuration.maxChannelsPerSubscription,
                maxChannelNameLength: configuration.maxChannelNameLength,
                maxMessageSize: configuration.maxMessageSize,
                policy: configuration.policy,
                tracksPresence: { configuration.tracksPresence(on: $0) },
                anonymousUsers: configuration.anonymousUsers,
                tokens: service.tokens
            )
        )
        self.clientID = RandomID.make(length: 16)
        self.rateLimiter = CommandRateLimiter(
            rate: configuration.nativeCommandsPerSecond,
            now: WallClock.milliseconds()
        )
        service.counters.native.wrappingIncrement(ordering: .relaxed)
        let timeout = configuration.nativeConnectTimeout
        if timeout > 0 {
            let connection = NIOLoopBound(self, eventLoop: eventLoop)
            expiry = eventLoop.scheduleTask(in: .milliseconds(Int64(timeout * 1000))) {
                connection.value.connectTimedOut()
            }
        }
    }

    private var allocator: ByteBufferAllocator { transport?.allocator ?? service.allocator }

    // MARK: Lifecycle

    /// The transport is gone (the client left, or the connection was closed): leave every channel, tell
    /// the registries and the back end. Idempotent.
    func end() {
        guard transport != nil else { return }
        transport = nil
        closing = true
        expiry?.cancel()
        expiry = nil
        service.counters.native.wrappingDecrement(ordering: .relaxed)
        for subscription in subscriptions.values { service.hub.unsubscribe(subscription, on: eventLoop) }
        subscriptions = [:]
        for channel in present { service.hub.leave(clientID: clientID, channel: channel) }
        present = []
        if let user { native.users.remove(self, user: user) }
        if session.state == .connected {
            native.users.remove(client: clientID)
            if service.configuration.hookEvents.contains("disconnect") {
                // Told, not asked: nobody waits for the answer.
                askHook(event: "disconnect", fields: [:]) { _, _ in }
            }
        }
    }

    /// The server is shutting down.
    func shutdown() {
        writePush(["push": "disconnect", "reason": DisconnectReason.shutdown.token])
        close(code: WebSocketCloseCode.goingAway, reason: DisconnectReason.shutdown.text)
    }

    /// The fallbacks' first push: the session id that `POST /connection/send` (and long-polls) name.
    func writeSessionPush(_ id: String) {
        writePush(["push": "session", "session": id])
    }

    /// `POST /api/disconnect`.
    func disconnect() {
        writePush(["push": "disconnect", "reason": "disconnected"])
        close(code: WebSocketCloseCode.disconnected, reason: "disconnected by the server")
    }

    /// `POST /api/call`: the call goes to the page as a `call` push.
    func push(_ call: CallRegistry.CallRequest) {
        guard !closing else { return }
        awaitedCalls.insert(call.id)
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("push", "call")
        json.integer("call", Int(call.id))
        json.string("method", call.method)
        json.raw("data", ByteBuffer(string: call.data))
        json.endObject()
        writeText(json.buffer)
        transport?.flush()
    }

    // MARK: Commands

    /// One command from the client (a WebSocket message, or one command of a `POST /connection/send`).
    /// Replies are written, not flushed: call ``flush()`` after a batch.
    func receiveCommand(_ payload: ByteBuffer) {
        guard !closing else { return }
        // A client that sends commands without taking in their replies: the WebSocket transport stops
        // reading it until it drains, but commands posted by HTTP (the fallbacks) keep coming; such a
        // client is a slow consumer.
        guard transport?.isWritable == true else {
            writePush(["push": "disconnect", "reason": DisconnectReason.slowConsumer.token])
            close(code: WebSocketCloseCode.slowConsumer, reason: DisconnectReason.slowConsumer.text)
            return
        }
        switch rateLimiter.admit(now: WallClock.milliseconds()) {
        case .allow:
            break
        case .refuse:
            let command = try? NativeCommand.parse(payload).get()
            writeError(
                NativeError(
                    .rateLimited,
                    "more than \(Int(rateLimiter.rate)) commands per second (limits.native_commands_per_second)",
                    id: command?.id
                )
            )
            return
        case .disconnect:
            writePush(["push": "disconnect", "reason": "too-many-commands"])
            close(code: WebSocketCloseCode.tooManyCommands, reason: "too many commands")
            return
        }
        switch NativeCommand.parse(payload) {
        case .failure(let error): writeError(error)
        case .success(let command):
            if awaiting {
                guard held.count < Self.maxHeldCommands,
                    heldBytes + payload.readableBytes <= service.configuration.maxOutboundBytes / 2
                else {
                    writeError(
                        NativeError(
                            .tooManyCalls,
                            "too many commands are waiting for the back end's hook (native.hook_url); this one was not run",
                            id: command.id
                        )
                    )
                    return
                }
                held.append((command, payload.readableBytes))
                heldBytes += payload.readableBytes
            } else {
                process(command)
            }
        }
    }

    /// Sends what the commands wrote.
    func flush() {
        transport?.flush()
    }

    /// Runs a command, first asking the back end's hook when it is configured for it.
    private func process(_ command: NativeCommand) {
        let action = session.receive(command)
        guard let (event, fields) = hookQuestion(for: action) else {
            run(action)
            return
        }
        if let refusal = callRefusal(id: command.id) {
            refuse(action, refusal)
            return
        }
        awaiting = true
        askHook(event: event, fields: fields) { handler, answer in
            handler.hookAnswered(answer, for: action)
        }
    }

    /// The end of `connect`: the connection is known by its client id (and user), and told so.
    private func connected(id: Int?, user: String?, info: String?, expiresAt: Int64?) {
        self.user = user
        self.info = info
        native.users.add(self, client: clientID)
        scheduleExpiry(at: expiresAt)
        writeReply(id) { json in
            json.string("client", clientID)
            json.string("user", user)
            json.string("version", SwitchboardVersion.current)
            json.double("ping_interval", service.configuration.pingInterval)
            if let expiresAt { json.int64("expires_at", expiresAt) }
        }
    }

    /// Runs `body` with the outcome of `future` (an engine's answer): at once when it is complete (always
    /// with the memory engine), else later — the commands after it wait meanwhile, so replies keep the
    /// order of the commands.
    private func whenDone<Value>(_ future: EventLoopFuture<Value>, _ body: @escaping (Result<Value, any Error>) -> Void)
    {
        var finished = false
        var waited = false
        future.assumeIsolated().whenComplete { [self] result in
            finished = true
            body(result)
            if waited { releaseHeld() }
        }
        if !finished {
            waited = true
            awaiting = true
        }
    }

    /// Runs `body` once `channels` are at hand (a shared engine's channel this node does not mirror yet is
    /// filled first), or writes the refusal; the commands after it wait meanwhile.
    private func whenReady(
        _ channels: [ChannelName],
        id: Int?,
        _ body: @escaping () -> Void,
        refused: @escaping () -> Void = {}
    ) {
        var finished = false
        var waited = false
        service.hub.whenReady(channels, on: eventLoop) { [self] in
            finished = true
            body()
            if waited { releaseHeld() }
        } refused: { [self] refusal in
            finished = true
            refused()
            writeError(NativeError(refusal, id: id))
            if waited { releaseHeld() }
        }
        if !finished {
            waited = true
            awaiting = true
        }
    }

    /// Runs the commands that waited for a hook, until one needs a hook again.
    func releaseHeld() {
        awaiting = false
        while !awaiting, !held.isEmpty, !closing {
            let next = held.removeFirst()
            heldBytes -= next.bytes
            process(next.command)
        }
        flush()
    }

    func run(_ action: NativeSession.Action) {
        switch action {
        case .connected(let id, let user, let info, let expiresAt):
            guard let user else { return connected(id: id, user: nil, info: info, expiresAt: expiresAt) }
            // Messages to the user (POST /api/send) come on their hidden channel.
            let channel = Self.userChannel(user)
            whenReady([channel], id: id) { [self] in
                do throws(HubRefusal) {
                    let (subscription, _) = try service.hub.subscribe(
                        self,
                        to: channel,
                        from: nil,
                        format: pushFormat,
                        on: eventLoop
                    )
                    subscriptions[subscription.channel] = subscription
                } catch {
                    session.connectRefused()
                    writeError(NativeError(error, id: id))
                    return
                }
                native.users.add(self, user: user)
                connected(id: id, user: user, info: info, expiresAt: expiresAt)
            } refused: { [self] in
                session.connectRefused()
            }
        case .refreshed(let id, let expiresAt, let revoked):
            scheduleExpiry(at: expiresAt)
            writeReply(id) { json in
                if let expiresAt { json.int64("expires_at", expiresAt) }
            }
            // The new token grants less: what it no longer grants ends now, as if the channel had gone.
            for channel in revoked {
                endSubscription(on: channel)
                writePush(["push": "unsubscribe", "channel": channel.rawValue, "reason": "permission-revoked"])
            }
        case .pong(let id):
            writeReply(id) { _ in }
        case .rpc(let id, let method, let data):
            rpc(id: id, method: method, data: data)
        case .answer(let id, let call, let answer):
            if awaitedCalls.remove(call) != nil, service.calls.answer(call, answer) {
                writeReply(id) { _ in }
            } else {
                writeError(NativeError(.unknownCall, "call \(call) is unknown, already answered or timed out", id: id))
            }
        case .error(let error):
            writeError(error)
        case .subscribe(let id, let channel, let since):
            whenReady([channel], id: id) { [self] in
                subscribe(id: id, channel: channel, since: since)
            } refused: { [self] in
                session.channelEnded(channel)
            }
        case .unsubscribe(let id, let channel):
            endSubscription(on: channel)
            writeReply(id) { json in json.string("channel", channel.rawValue) }
        case .publish(let id, let channel, var request):
            request.source = MemoryBudget.Source(session.principal)
            whenDone(service.hub.publish(request, to: channel, on: eventLoop)) { [self] outcome in
                switch outcome {
                case .success(let result):
                    writeReply(id) { json in
                        json.string("channel", channel.rawValue)
                        json.string("id", result.message.position.description)
                    }
                case .failure(let error):
                    writeError(NativeError(Self.refusal(error), id: id))
                }
            }
        case .presence(let id, let channel):
            presence(id: id, channel: channel)
        case .history(let id, let channel, let since, let limit):
            let page = service.hub.history(
                of: channel,
                since: since,
                limit: limit,
                maxBytes: replyBudget,
                on: eventLoop
            )
            whenDone(page) { [self] outcome in
                switch outcome {
                case .success(let page):
                    writeReply(id) { json in
                        json.string("channel", channel.rawValue)
                        json.string("last_id", page?.lastPosition.description)
                        json.string("gap", page?.gap?.rawValue)
                        Self.writePublications(page?.messages ?? [], into: &json)
                        if page?.truncated == true { json.bool("truncated", true) }
                    }
                case .failure(let error):
                    writeError(NativeError(Self.refusal(error), id: id))
                }
            }
        }
    }

    /// What an engine's failure is to a client.
    static func refusal(_ error: any Error) -> HubRefusal {
        error as? HubRefusal ?? .engineUnavailable(reason: "\(error)")
    }

    private func subscribe(id: Int?, channel: ChannelName, since: StreamPosition?) {
        let subscription: Subscription
        var resume: ResumeResult
        do {
            (subscription, resume) = try service.hub.subscribe(
                self,
                to: channel,
                from: since,
                format: pushFormat,
                on: eventLoop
            )
        } catch {
            session.channelEnded(channel)
            writeError(NativeError(error, id: id))
            return
        }
        // The missed messages are part of the reply: at most half the connection's output budget.
        resume = resume.limited(toBytes: replyBudget)
        subscriptions[channel] = subscription
        if service.configuration.tracksPresence(on: channel) {
            present.insert(channel)
            service.hub.join(PresenceMember(clientID: clientID, user: user, info: info), channel: channel)
        }
        writeReply(id) { json in
            json.string("channel", channel.rawValue)
            json.string("position", resume.position.description)
            json.bool("recovered", since != nil && resume.gap == nil)
            json.string("gap", resume.gap?.rawValue)
            Self.writePublications(resume.messages, into: &json)
        }
    }

    private func presence(id: Int?, channel: ChannelName) {
        var members = service.hub.presence(of: channel) ?? []
        // At most half the output budget: the members that fit, and `truncated` when some did not.
        var bytes = 0
        let count = members.count
        if let cut = members.indices.first(where: { index in
            bytes +=
                64 + members[index].clientID.utf8.count + (members[index].user?.utf8.count ?? 0)
                + (members[index].info?.utf8.count ?? 0)
            return bytes > replyBudget
        }) {
            members.removeSubrange(cut...)
        }
        writeReply(id) { json in
            json.string("channel", channel.rawValue)
            Self.writeMembers(members, into: &json)
            if members.count < count { json.bool("truncated", true) }
        }
    }

    /// The most a single reply may carry (missed messages, history, presence): half the connection's
    /// output budget, so a reply never takes a connection over it on its own.
    private var replyBudget: Int { service.configuration.maxOutboundBytes / 2 }

    /// Ends the connection at `expiresAt` (milliseconds since the Unix epoch) unless a `refresh` moves it:
    /// a connection must not outlive its credential.
    private func scheduleExpiry(at expiresAt: Int64?) {
        expiry?.cancel()
        expiry = nil
        guard let expiresAt else { return }
        let delay = WallClock.delay(until: expiresAt)
        let connection = NIOLoopBound(self, eventLoop: eventLoop)
        expiry = eventLoop.scheduleTask(in: delay) { connection.value.tokenExpired() }
    }

    /// No `connect` was accepted in time (the `connected` action replaces this deadline).
    private func connectTimedOut() {
        expiry = nil
        guard !closing, session.state == .awaitingConnect else { return }
        let reason = DisconnectReason.connectTimeout
        writePush(["push": "disconnect", "reason": reason.token])
        close(code: reason.webSocketCloseCode, reason: reason.text)
    }

    private func tokenExpired() {
        expiry = nil
        let reason = DisconnectReason.tokenExpired
        writePush(["push": "disconnect", "reason": reason.token])
        close(code: reason.webSocketCloseCode, reason: reason.text)
    }

    /// The refusal of one more back-end request when `native.max_concurrent_calls` are in flight.
    private func callRefusal(id: Int?) -> NativeError? {
        let limit = service.configuration.maxConcurrentCalls
        guard callsInFlight >= limit else { return nil }
        return NativeError(
            .tooManyCalls,
            "\(limit) requests to the back end are already in flight (native.max_concurrent_calls)",
            id: id
        )
    }

    /// Forwards an `rpc` to the back end (`native.rpc_url`) and replies with its answer.
    private func rpc(id: Int?, method: String, data: String) {
        let configuration = service.configuration
        guard let url = configuration.rpcURL, let backend = service.backend else {
            writeError(NativeError(.rpcFailed, "this server has no back end for rpc (native.rpc_url)", id: id))
            return
        }
        if let refusal = callRefusal(id: id) {
            writeError(refusal)
            return
        }
        callsInFlight += 1
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("client", clientID)
        json.string("user", user)
        json.string("method", method)
        json.raw("data", ByteBuffer(string: data))
        json.endObject()
        let timeout = TimeAmount.milliseconds(Int64(configuration.backendTimeout * 1000))
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        backend.post(url, body: json.buffer, timeout: timeout, on: eventLoop).whenComplete { result in
            handler.value.callsInFlight -= 1
            handler.value.rpcAnswered(id: id, result: result)
        }
    }

    private func rpcAnswered(id: Int?, result: Result<BackendResponse, any Error>) {
        guard !closing else { return }
        defer { flush() }
        let response: BackendResponse
        switch result {
        case .failure(BackendError.timeout):
            writeError(
                NativeError(
                    .rpcFailed,
                    "the back end did not answer within \(service.configuration.backendTimeout) s",
                    id: id
                )
            )
            return
        case .failure(let error):
            writeError(NativeError(.rpcFailed, "the back end could not be reached: \(error)", id: id))
            return
        case .success(let answer):
            response = answer
        }
        guard response.status == 200,
            let object = try? JSONSerialization.jsonObject(with: Data(response.body.readableBytesView))
                as? [String: Any]
        else {
            writeError(
                NativeError(.rpcFailed, "the back end answered \(response.status) without a JSON object", id: id)
            )
            return
        }
        if let message = object["error"] as? String {
            writeError(NativeError(.rpcError, message, id: id))
            return
        }
        guard let data = JSONText.encode(object["result"] ?? NSNull()) else {
            writeError(NativeError(.rpcFailed, "the back end's result is not JSON", id: id))
            return
        }
        writeReply(id) { json in json.raw("result", ByteBuffer(bytes: data)) }
    }

    private static func writePublications(_ messages: [Message], into json: inout JSONWriter) {
        json.beginArray("publications")
        for message in messages {
            json.beginObject()
            NativePushEncoder.writeFields(of: message, into: &json)
            json.endObject()
        }
        json.endArray()
    }

    /// `"members": [{"client", "user", "info"}, ...]` (also for `GET /api/presence/{channel}`).
    static func writeMembers(_ members: [PresenceMember], into json: inout JSONWriter) {
        json.beginArray("members")
        for member in members {
            json.beginObject()
            writeMember(member, into: &json)
            json.endObject()
        }
        json.endArray()
    }

    private static func writeMember(_ member: PresenceMember, into json: inout JSONWriter) {
        json.string("client", member.clientID)
        json.string("user", member.user)
        if let info = member.info { json.raw("info", ByteBuffer(string: info)) }
    }

    // MARK: ChannelSubscriber

    func presenceChanged(_ event: PresenceEvent, on subscription: Subscription) {
        guard !closing else { return }
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("push", event.kind.rawValue)
        json.string("channel", event.channel.rawValue)
        Self.writeMember(event.member, into: &json)
        json.endObject()
        writeText(json.buffer)
        flush()
    }

    func deliver(_ delivery: Delivery, on subscription: Subscription, flush: Bool) {
        guard let transport, !closing else { return }
        guard transport.isWritable else {
            writePush(["push": "disconnect", "reason": DisconnectReason.slowConsumer.token])
            close(code: WebSocketCloseCode.slowConsumer, reason: DisconnectReason.slowConsumer.text)
            return
        }
        transport.write(delivery.encoded(pushFormat, allocator: transport.allocator))
        if flush { transport.flush() }
    }

    private func endSubscription(on channel: ChannelName) {
        if let subscription = subscriptions.removeValue(forKey: channel) {
            service.hub.unsubscribe(subscription, on: eventLoop)
        }
        if present.remove(channel) != nil { service.hub.leave(clientID: clientID, channel: channel) }
    }

    /// A live gap (the shared engine lost messages or began a new epoch): the client is told, with the
    /// position its subscription continues from.
    func gapped(_ gap: GapReason, from: StreamPosition, on subscription: Subscription) {
        guard !closing else { return }
        writePush([
            "push": "gap", "channel": subscription.channel.rawValue, "reason": gap.rawValue,
            "from": from.description, "position": subscription.position.description,
        ])
        flush()
    }

    func channelDeleted(_ subscription: Subscription) {
        subscriptions[subscription.channel] = nil
        present.remove(subscription.channel)
        session.channelEnded(subscription.channel)
        writePush(["push": "unsubscribe", "channel": subscription.channel.rawValue, "reason": "channel-deleted"])
        flush()
    }

    // MARK: Output

    private func writeReply(_ id: Int?, _ fields: (inout JSONWriter) -> Void) {
        guard let id else { return }  // a command without an id wants no answer
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.integer("id", id)
        json.beginObject("result")
        fields(&json)
        json.endObject()
        json.endObject()
        writeText(json.buffer)
    }

    func writeError(_ error: NativeError) {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        if let id = error.id { json.integer("id", id) }
        json.beginObject("error")
        json.integer("code", error.code.rawValue)
        json.string("name", error.code.name)
        json.string("message", error.message)
        json.endObject()
        json.endObject()
        writeText(json.buffer)
    }

    private func writePush(_ fields: KeyValuePairs<String, String>) {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        for (key, value) in fields { json.string(key, value) }
        json.endObject()
        writeText(json.buffer)
    }

    private func writeText(_ payload: ByteBuffer) {
        guard let transport else { return }
        transport.write(transport.framing.frame(payload, allocator: transport.allocator))
    }

    /// Says goodbye (after the `disconnect` push that carries the reason) and ends the connection.
    private func close(code: UInt16, reason: String) {
        guard let transport, !closing else { return }
        closing = true
        transport.close(code: code, reason: reason)
        end()
    }
}
