import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket
import Synchronization

/// An Engine.IO endpoint (`/socket.io/`, or the conformance echo at `/engine.io/`): checks requests as
/// the reference server does, opens sessions, and hands polls, posts and WebSockets to their session on
/// its event loop.
final class EngineIOServer: Sendable {
    /// What runs on the endpoint's sessions.
    enum Application: Sendable {
        case socketIO
        case echo
    }

    /// The reference server's request errors: `400 {"code": N, "message": "..."}` (403 for `forbidden`).
    enum Failure: Int, Error {
        case unknownTransport = 0
        case unknownSession = 1
        case badHandshakeMethod = 2
        case badRequest = 3
        case forbidden = 4
        case unsupportedProtocolVersion = 5

        var message: String {
            switch self {
            case .unknownTransport: "Transport unknown"
            case .unknownSession: "Session ID unknown"
            case .badHandshakeMethod: "Bad handshake method"
            case .badRequest: "Bad request"
            case .forbidden: "Forbidden"
            case .unsupportedProtocolVersion: "Unsupported protocol version"
            }
        }
    }

    let application: Application
    let configuration: EngineIOConfiguration
    private let sessions = Mutex<[String: LoopBoundReference<EngineIOSession>]>([:])
    /// Socket.IO events, one hub format per namespace (none for the echo).
    private let eventFormats: [String: WireFormat]
    /// Socket.IO's connected sockets, and the state kept for their recovery (empty for the echo).
    let sockets = SocketIORegistry()
    private let heartbeats = Mutex<[ObjectIdentifier: NIOLoopBound<EngineIOHeartbeat>]>([:])

    /// The heartbeat queues of `eventLoop` (created on first use). Call on that loop.
    func heartbeat(on eventLoop: any EventLoop) -> EngineIOHeartbeat {
        heartbeats.withLock { all in
            if let heartbeat = all[ObjectIdentifier(eventLoop)] { return heartbeat }
            let heartbeat = NIOLoopBound(
                EngineIOHeartbeat(eventLoop: eventLoop, configuration: configuration),
                eventLoop: eventLoop
            )
            all[ObjectIdentifier(eventLoop)] = heartbeat
            return heartbeat
        }.value
    }

    init(application: Application, configuration: EngineIOConfiguration, eventFormats: [String: WireFormat] = [:]) {
        self.application = application
        self.configuration = configuration
        self.eventFormats = eventFormats
    }

    /// The hub format of Socket.IO events to `namespace` (a configured one).
    func eventFormat(namespace: String) -> WireFormat {
        eventFormats[namespace] ?? eventFormats["/"]!
    }

    static func errorResponse(_ failure: Failure) -> HTTPResponse {
        var json = JSONWriter()
        json.beginObject()
        json.integer("code", failure.rawValue)
        json.string("message", failure.message)
        json.endObject()
        // A refused origin must not be told it may read the answer.
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        if failure != .forbidden { headers.add(name: "Access-Control-Allow-Origin", value: "*") }
        return HTTPResponse(
            status: failure == .forbidden ? .forbidden : .badRequest,
            headers: headers,
            body: json.buffer
        )
    }

    /// What a request asks for, once checked.
    enum Request {
        case handshake
        case poll(sid: String)
        case post(sid: String)
        case webSocket(sid: String?)
    }

    /// Checks a request as the reference server's `verify` and `handshake` do.
    func check(method: HTTPMethod, target: RequestTarget, isUpgrade: Bool) -> Result<Request, Failure> {
        let transport = target.parameter("transport")
        guard transport == "polling" || transport == "websocket" else { return .failure(.unknownTransport) }
        guard target.parameter("EIO") == "4" else { return .failure(.unsupportedProtocolVersion) }
        let sid = target.parameter("sid")
        if let sid {
            guard sessions.withLock({ $0[sid] }) != nil else { return .failure(.unknownSession) }
            if transport == "websocket" {
                return isUpgrade ? .success(.webSocket(sid: sid)) : .failure(.badRequest)
            }
            switch method {
            case .GET, .HEAD: return .success(.poll(sid: sid))
            case .POST: return .success(.post(sid: sid))
            default: return .failure(.badRequest)
            }
        }
        guard method == .GET else { return .failure(.badHandshakeMethod) }
        if transport == "websocket" {
            return isUpgrade ? .success(.webSocket(sid: nil)) : .failure(.badRequest)
        }
        return .success(.handshake)
    }

    // MARK: Sessions

    /// A session on `eventLoop`: HTTP long-polling, or a WebSocket opened without a sid (which opens the
    /// session when its transport is in place: ``EngineIOSession/attached(to:)``).
    /// An Engine.IO request: the polling handshake, a poll, a post, or a WebSocket (new, or an upgrade).
    func answer(_ request: HTTPRequest, service: HTTPService, on eventLoop: any EventLoop) -> FrontEndAnswer {
        let isUpgrade = request.head.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        switch check(method: request.head.method, target: request.target, isUpgrade: isUpgrade) {
        case .failure(let failure):
            return .respond(Self.errorResponse(failure))
        case .success(.handshake):
            return .await(handshake(service: service, on: eventLoop))
        case .success(.poll(let sid)):
            return .await(poll(sid, on: eventLoop))
        case .success(.post(let sid)):
            return .await(post(sid, body: request.body ?? ByteBuffer(), on: eventLoop))
        case .success(.webSocket(let sid)):
            return .upgrade(webSocketUpgrade(service: service, sid: sid))
        }
    }

    /// The handshake's claim: a new session born on this WebSocket, or (`sid`) the probe that upgrades a
    /// polling session. Engine.IO has its own heartbeat: no WebSocket pings.
    func webSocketUpgrade(service: HTTPService, sid: String?) -> WebSocketUpgrade {
        WebSocketUpgrade(subprotocol: nil) { channel in
            let sink: any WebSocketMessageSink =
                if let sid {
                    EngineIOProbeLink(server: self, sid: sid)
                } else {
                    self.makeSession(service: service, webSocket: channel, on: channel.eventLoop)
                }
            return [WebSocketUpgrade.sink(sink, service: service, pings: false, on: channel)]
        }
    }

    func makeSession(service: HTTPService, webSocket: (any Channel)?, on eventLoop: any EventLoop) -> EngineIOSession {
        let session = EngineIOSession(
            server: self,
            service: service,
            transport: webSocket == nil ? .polling : .webSocket,
            webSocket: webSocket,
            eventLoop: eventLoop
        )
        if webSocket == nil {
            // Only polling sessions are looked up by id (polls, posts, the upgrade); a session born on a
            // WebSocket is reached through its channel.
            sessions.withLock { $0[session.id] = LoopBoundReference(session) }
        }
        switch application {
        case .socketIO: session.application = SocketIOConnection(session: session)
        case .echo: session.application = EngineIOEcho(session: session)
        }
        return session
    }

    /// The handshake of HTTP long-polling: the `open` packet is the answer.
    func handshake(service: HTTPService, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        let session = makeSession(service: service, webSocket: nil, on: eventLoop)
        session.open()
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        session.poll(promise)
        return promise.futureResult
    }

    func poll(_ sid: String, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        guard let reference = sessions.withLock({ $0[sid] }) else {
            promise.succeed(Self.errorResponse(.unknownSession))
            return promise.futureResult
        }
        reference.execute { $0.poll(promise) }
        return promise.futureResult
    }

    func post(_ sid: String, body: ByteBuffer, on eventLoop: any EventLoop) -> EventLoopFuture<HTTPResponse> {
        let promise = eventLoop.makePromise(of: HTTPResponse.self)
        guard let reference = sessions.withLock({ $0[sid] }) else {
            promise.succeed(Self.errorResponse(.unknownSession))
            return promise.futureResult
        }
        reference.execute { promise.succeed($0.post(body)) }
        return promise.futureResult
    }

    /// Runs `body` with session `sid` on its loop; false when there is no such session.
    func withSession(_ sid: String, _ body: @escaping @Sendable (EngineIOSession) -> Void) -> Bool {
        guard let reference = sessions.withLock({ $0[sid] }) else { return false }
        reference.execute(body)
        return true
    }

    func remove(_ sid: String) {
        _ = sessions.withLock { $0.removeValue(forKey: sid) }
    }

    /// Ends every session (server shutdown).
    func shutdown() {
        let all = sessions.withLock { Array($0.values) }
        for reference in all {
            reference.execute { session in
                session.close(.serverShutdown, drain: true)
            }
        }
    }
}
