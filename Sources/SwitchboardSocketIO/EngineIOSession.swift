import DequeModule
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// What runs on top of an Engine.IO session: Socket.IO (``SocketIOConnection``), or the echo of the
/// conformance configuration (``EngineIOEcho``). Called on the session's event loop.
protocol EngineIOApplication: AnyObject {
    /// Whether the client has not started anything yet (Socket.IO: no namespace joined); nil when the
    /// application has no connect deadline.
    var isIdle: Bool? { get }
    /// A `message` packet from the client (text or binary).
    func received(_ message: EngineIOPacket)
    /// A ping went out: everything written before it reaches the client before the ping does.
    func pingSent()
    /// The client answered the last ping: it has everything written before that ping.
    func pongReceived()
    /// The session ended (the application must not write to it any more).
    func sessionClosed(_ reason: EngineIOSession.CloseReason)
}

/// One Engine.IO v4 session: its transport (HTTP long-polling, WebSocket, or long-polling while a
/// WebSocket is being probed for the upgrade), its heartbeat, and the queue of packets that wait for the
/// next poll. Confined to its event loop; requests and WebSocket messages from other loops hop to it.
final class EngineIOSession: EventLoopConfined {
    typealias Transport = EngineIOSessionState.Transport

    /// Why a session ended (the names are those of the reference server, which Socket.IO passes on as the
    /// disconnect reason).
    enum CloseReason: String {
        case transportClose = "transport close"
        case transportError = "transport error"
        case pingTimeout = "ping timeout"
        case forcedClose = "forced close"
        case parseError = "parse error"
        case serverShutdown = "server shutting down"
    }

    /// A queued output: a packet, or WebSocket frames encoded once for many sessions (hub deliveries).
    private enum Output {
        case packet(EngineIOPacket)
        case frames(ByteBuffer)

        var size: Int {
            switch self {
            case .packet(let packet): packet.payload.readableBytes + 1
            case .frames(let frames): frames.readableBytes
            }
        }
    }

    let id: String
    let eventLoop: any EventLoop
    let server: EngineIOServer
    let service: HTTPService
    var application: (any EngineIOApplication)?
    /// The transport's state machine (a value: see its tests); this object carries out its decisions.
    private var state: EngineIOSessionState
    var transport: Transport { state.transport }
    var isClosed: Bool { state.isClosed }
    /// The WebSocket once the session uses one.
    private var webSocket: (any Channel)?
    /// The WebSocket transport handler's context, when the WebSocket lives on this session's loop: writes
    /// through it skip the pipeline walk of `Channel.write` (every delivery takes this path).
    private var webSocketContext: ChannelHandlerContext?
    /// A WebSocket probing for the upgrade (`2probe` … `5`); boxed, as few sessions ever have one.
    private final class Probe {
        let channel: any Channel
        var deadline: Scheduled<Void>?
        init(_ channel: any Channel) { self.channel = channel }
    }
    private var probe: Probe?
    private var outbox: Deque<Output> = []
    private var outboxBytes = 0
    private var waitingPoll: EventLoopPromise<HTTPResponse>?
    /// Set while a ping waits for its pong.
    private var awaitingPong = false
    /// Bumped whenever the heartbeat's next step changes: queued deadlines of older generations are void.
    private(set) var heartbeatGeneration: UInt32 = 0
    /// The packet that ends a draining session's last poll answer.
    private var farewell = EngineIOPacket.Kind.close

    init(
        server: EngineIOServer,
        service: HTTPService,
        transport: Transport,
        webSocket: (any Channel)?,
        eventLoop: any EventLoop
    ) {
        // 15 characters (77 bits): a Swift string that short is stored inline, with no allocation.
        self.id = RandomID.make(length: 15)
        self.server = server
        self.service = service
        self.state = EngineIOSessionState(transport: transport)
        self.webSocket = webSocket
        self.eventLoop = eventLoop
    }

    private var allocator: ByteBufferAllocator { service.allocator }
    private var configuration: EngineIOConfiguration { server.configuration }

    /// Sends the `open` packet and starts the heartbeat.
    func open() {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("sid", id)
        json.beginArray("upgrades")
        if transport == .polling { json.string(nil, "websocket") }
        json.endArray()
        json.integer("pingInterval", configuration.pingIntervalMilliseconds)
        json.integer("pingTimeout", configuration.pingTimeoutMilliseconds)
        json.integer("maxPayload", configuration.maxPayload)
        json.endObject()
        send(EngineIOPacket(.open, payload: json.buffer))
        flush()
        schedulePing()
        if application?.isIdle != nil {
            server.heartbeat(on: eventLoop).schedule(.connectDeadline, for: self, generation: 0)
        }
    }

    // MARK: Output

    /// Whether the client keeps up; a session that does not is ended by its application.
    var isWritable: Bool {
        switch transport {
        case .webSocket: webSocket?.isWritable ?? false
        case .polling: outboxBytes < service.configuration.maxOutboundBytes
        }
    }

    func send(_ packet: EngineIOPacket) {
        guard !isClosed else { return }
        if transport == .webSocket, let webSocketContext {
            webSocketContext.write(
                NIOAny(packet.webSocketFrame(allocator: webSocketContext.channel.allocator)),
                promise: nil
            )
        } else if transport == .webSocket, let webSocket {
            webSocket.write(packet.webSocketFrame(allocator: webSocket.allocator), promise: nil)
        } else {
            enqueue(.packet(packet))
        }
    }

    /// Engine.IO `message` packets already encoded as WebSocket frames (shared by every receiver).
    func send(frames: ByteBuffer) {
        guard !isClosed else { return }
        if transport == .webSocket, let webSocketContext {
            webSocketContext.write(NIOAny(frames), promise: nil)
        } else if transport == .webSocket, let webSocket {
            webSocket.write(frames, promise: nil)
        } else {
            enqueue(.frames(frames))
        }
    }

    private func enqueue(_ output: Output) {
        outbox.append(output)
        outboxBytes += output.size
    }

    func flush() {
        if transport == .webSocket {
            if let webSocketContext { webSocketContext.flush() } else { webSocket?.flush() }
        } else if !outbox.isEmpty, !state.holdsOutput {
            answerPoll()
        }
    }

    // MARK: HTTP long-polling

    /// `GET` with the session id: the queued packets now, or when there are some.
    func poll(_ promise: EventLoopPromise<HTTPResponse>) {
        switch state.pollArrived(hasOutput: !outbox.isEmpty) {
        case .refuse(let failure):
            promise.succeed(EngineIOServer.errorResponse(failure))
        case .overlap:
            promise.succeed(EngineIOServer.errorResponse(.badRequest))
            enqueue(.packet(EngineIOPacket(.close)))
            answerPoll()
            close(.transportError)
        case .answerNoop:
            waitingPoll = promise
            answerPoll(with: [.packet(EngineIOPacket(.noop))])
        case .answer:
            waitingPoll = promise
            answerPoll()
        case .wait:
            waitingPoll = promise
        }
    }

    /// `POST` with the session id: packets from the client.
    func post(_ body: ByteBuffer) -> HTTPResponse {
        if let refusal = state.postRefusal { return EngineIOServer.errorResponse(refusal) }
        guard body.readableBytes <= configuration.maxPayload else {
            close(.transportError)
            return .error(
                HTTPError(status: .payloadTooLarge, code: "payload_too_large", message: "over maxPayload"),
                allocator: allocator
            )
        }
        guard let packets = EngineIOPacket.decode(pollingPayload: body) else {
            close(.parseError)
            return EngineIOServer.errorResponse(.badRequest)
        }
        for packet in packets where !isClosed {
            received(packet)
            if outboxBytes > service.configuration.maxOutboundBytes {
                // The client asks for more than it takes (a slow consumer): the session ends.
                close(.transportError)
            }
        }
        flush()
        return HTTPResponse(
            status: .ok,
            headers: ["Content-Type": "text/html", "Access-Control-Allow-Origin": "*"],
            body: ByteBuffer(staticString: "ok")
        )
    }

    private func answerPoll(with outputs: [Output]? = nil) {
        guard let promise = waitingPoll else { return }
        waitingPoll = nil
        var body = allocator.buffer(capacity: outputs == nil ? outboxBytes + outbox.count * 2 : 8)
        var first = true
        func append(_ output: Output) {
            switch output {
            case .packet(let packet):
                if !first { body.writeInteger(EngineIOPacket.separator) }
                packet.writePolling(into: &body)
                first = false
            case .frames(let frames):
                EngineIOFrames.forEachMessage(in: frames) { isBinary, payload in
                    if !first { body.writeInteger(EngineIOPacket.separator) }
                    if isBinary {
                        EngineIOPacket(.message, payload: payload, isBinary: true).writePolling(into: &body)
                    } else {
                        body.writeImmutableBuffer(payload)
                    }
                    first = false
                }
            }
        }
        if let outputs {
            outputs.forEach(append)
        } else {
            outbox.forEach(append)
            outbox.removeAll()
            outboxBytes = 0
        }
        let final = state.life == .draining && outputs == nil
        if final {
            if !first { body.writeInteger(EngineIOPacket.separator) }
            EngineIOPacket(farewell).writePolling(into: &body)
            server.remove(id)
        }
        state.pollAnswered(final: final)
        promise.succeed(
            HTTPResponse(
                status: .ok,
                headers: [
                    "Content-Type": "text/plain; charset=UTF-8",
                    "Cache-Control": "no-store",
                    "Access-Control-Allow-Origin": "*",
                ],
                body: body
            )
        )
    }

    // MARK: WebSocket

    /// A WebSocket for this session (`transport=websocket&sid=...`): the upgrade probe.
    func attachProbe(_ channel: any Channel) {
        guard state.probeOpened() else {
            channel.close(promise: nil)
            return
        }
        let probe = Probe(channel)
        self.probe = probe
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        probe.deadline = eventLoop.scheduleTask(in: .seconds(10)) { session.value.probeEnded(channel) }
    }

    /// A message on the session's WebSocket, or on the probe.
    func webSocketMessage(_ message: WebSocketMessage, from channel: any Channel) {
        guard !isClosed else { return }
        guard message.payload.readableBytes <= configuration.maxPayload else {
            close(.transportError)  // over maxPayload: the reference server drops the connection too
            return
        }
        let packet: EngineIOPacket
        if message.isBinary {
            packet = EngineIOPacket(.message, payload: message.payload, isBinary: true)
        } else {
            guard let decoded = EngineIOPacket.decode(text: message.payload) else {
                close(.parseError)
                return
            }
            packet = decoded
        }
        if let probe = probe?.channel, channel === probe {
            probeReceived(packet, on: probe)
        } else if channel === webSocket {
            received(packet)
            flush()
        }
    }

    /// The session's WebSocket (or the probe) closed.
    func webSocketClosed(_ channel: any Channel) {
        if let probe = probe?.channel, channel === probe {
            probeEnded(channel)
        } else if channel === webSocket, !isClosed {
            close(.transportClose)
        }
    }

    private func probeReceived(_ packet: EngineIOPacket, on channel: any Channel) {
        let isProbe = packet.kind == .ping && String(buffer: packet.payload) == "probe"
        switch state.probeReceived(packet.kind, isProbe: isProbe) {
        case .answerProbe:
            channel.writeAndFlush(
                EngineIOPacket(.pong, text: "probe").webSocketFrame(allocator: channel.allocator),
                promise: nil
            )
            answerPoll(with: [.packet(EngineIOPacket(.noop))])
        case .completeUpgrade:
            probe?.deadline?.cancel()
            probe = nil
            answerPoll(with: [.packet(EngineIOPacket(.noop))])
            webSocket = channel
            for output in outbox {
                switch output {
                case .packet(let packet):
                    channel.write(packet.webSocketFrame(allocator: channel.allocator), promise: nil)
                case .frames(let frames): channel.write(frames, promise: nil)
                }
            }
            outbox.removeAll()
            outboxBytes = 0
            channel.flush()
        case .abandon:
            probeEnded(channel)
        }
    }

    private func probeEnded(_ channel: any Channel) {
        guard let probe, probe.channel === channel else { return }
        self.probe = nil
        state.probeEnded()
        probe.deadline?.cancel()
        channel.close(promise: nil)
        flush()
    }

    // MARK: Packets

    private func received(_ packet: EngineIOPacket) {
        switch packet.kind {
        case .message:
            application?.received(packet)
        case .pong:
            // Only the answer to a ping counts: unasked pongs would keep a silent client alive and queue a
            // heartbeat entry each.
            guard awaitingPong else { break }
            awaitingPong = false
            application?.pongReceived()
            schedulePing()
        case .close:
            // A polling client's poll (waiting, or on its way) is ended with a noop.
            close(.transportClose, drain: transport == .polling, farewell: .noop)
        case .open, .ping, .upgrade, .noop:
            break
        }
    }

    // MARK: Heartbeat

    private func schedulePing() {
        heartbeatGeneration &+= 1
        server.heartbeat(on: eventLoop).schedule(.ping, for: self, generation: heartbeatGeneration)
    }

    /// A deadline came (``EngineIOHeartbeat``): ping, give up on a client that did not answer the last
    /// ping, or on one that joined no namespace in time.
    func deadlinePassed(_ kind: EngineIOHeartbeat.Kind) {
        guard !isClosed else { return }
        switch kind {
        case .connectDeadline:
            if application?.isIdle == true { close(.transportClose) }
        case .ping:
            awaitingPong = true
            send(EngineIOPacket(.ping))
            application?.pingSent()
            flush()
            heartbeatGeneration &+= 1
            server.heartbeat(on: eventLoop).schedule(.pongDeadline, for: self, generation: heartbeatGeneration)
        case .pongDeadline:
            close(.pingTimeout)
        }
    }

    // MARK: Closing

    /// Ends the session. `drain`: a polling client still gets what was queued, with a close packet, on
    /// its next poll (the server ended the session, e.g. a Socket.IO disconnect).
    func close(_ reason: CloseReason, drain: Bool = false, farewell: EngineIOPacket.Kind = .close) {
        let action = state.close(drain: drain)
        guard action != .alreadyClosed else { return }
        self.farewell = farewell
        heartbeatGeneration &+= 1
        if let probe {
            probe.deadline?.cancel()
            probe.channel.close(promise: nil)
        }
        probe = nil
        let application = self.application
        self.application = nil
        application?.sessionClosed(reason)
        switch action {
        case .alreadyClosed:
            break
        case .closeWebSocket:
            outbox.removeAll()
            outboxBytes = 0
            if let webSocket {
                webSocket.flush()
                webSocket.close(promise: nil)
            }
            webSocket = nil
            webSocketContext = nil
            server.remove(id)
        case .answerWaitingPoll:
            answerPoll()
        case .awaitLastPoll:
            // The last packets wait for the next poll, for a heartbeat's time.
            let session = NIOLoopBound(self, eventLoop: eventLoop)
            eventLoop.scheduleTask(in: configuration.pingInterval + configuration.pingTimeout) {
                session.value.state.drainExpired()
                session.value.server.remove(session.value.id)
            }
        case .forget:
            outbox.removeAll()
            outboxBytes = 0
            server.remove(id)
        }
    }
}

/// Reads back the Engine.IO messages of frames encoded for WebSockets, for a polling client.
enum EngineIOFrames {
    static func forEachMessage(in frames: ByteBuffer, _ body: (_ isBinary: Bool, _ payload: ByteBuffer) -> Void) {
        var buffer = frames
        while let first = buffer.readInteger(as: UInt8.self), let second = buffer.readInteger(as: UInt8.self) {
            var length = Int(second & 0x7F)
            if length == 126 {
                length = Int(buffer.readInteger(as: UInt16.self) ?? 0)
            } else if length == 127 {
                length = Int(buffer.readInteger(as: UInt64.self) ?? 0)
            }
            guard let payload = buffer.readSlice(length: length) else { return }
            body(first & 0x0F == 0x2, payload)
        }
    }
}

/// A session born on a WebSocket receives that WebSocket's messages directly.
extension EngineIOSession: WebSocketMessageSink {
    func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext) {
        webSocketContext = context
        open()
    }

    func received(_ message: WebSocketMessage, on channel: any Channel) {
        // The transport stops reading a client that does not take in its answers (a client must not make
        // the server queue without bound).
        webSocketMessage(message, from: channel)
    }

    func detached(from channel: any Channel) {
        webSocketContext = nil
        webSocketClosed(channel)
    }

    func shutdown(_ channel: any Channel) {
        close(.serverShutdown)
    }
}
