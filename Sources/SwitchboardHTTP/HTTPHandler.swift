import NIOCore
import NIOHTTP1
import NIOWebSocket
import SwitchboardAuth
import SwitchboardCore
import SwitchboardSTOMP
import SwitchboardWebSocket

/// The per-connection HTTP handler: collects a request (head and bounded body), routes it, and either
/// answers it or hands the connection to a subscriber transport (WebSocket, SSE, stream, long-poll).
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct Request {
        var head: HTTPRequestHead
        var target: RequestTarget
        var body: ByteBuffer?
    }

    private enum State {
        case idle
        case reading(Request)
        /// The request was answered early (an error); the rest of it is discarded.
        case discarding
        case longPolling(LongPollSubscriber)
        /// Waiting for an answer to come from elsewhere (a page answering `POST /api/call`).
        case awaiting
        /// The connection now belongs to another handler.
        case handedOff
    }

    private let service: HTTPService
    private let router: Router
    private var state: State = .idle
    private var shuttingDown = false
    /// The allowed `Origin` of the request being answered: echoed in `Access-Control-Allow-Origin`.
    private var corsOrigin: String?
    /// The connection's place in the connection limits.
    private let slot: ConnectionLimiter.Slot?
    /// Whether the peer is a trusted proxy (its requests' forwarded clients are counted, not the proxy).
    private var peerIsTrustedProxy = false
    /// The connection's read deadlines (nil once the connection stopped being request/response).
    private var timeouts: HTTPReadTimeoutHandler?

    init(service: HTTPService, slot: ConnectionLimiter.Slot? = nil) {
        self.service = service
        self.slot = slot
        // A connection accepted while the server drains gets its answer (503, /healthz says why) and closes.
        self.shuttingDown = service.connections.isShuttingDown
        let configuration = service.configuration
        self.router = Router(
            maxChannelNameLength: configuration.maxChannelNameLength,
            maxChannelsPerSubscription: configuration.maxChannelsPerSubscription,
            echoEnabled: configuration.webSocketEcho,
            stompEnabled: service.stomp != nil,
            stompWebSocket: service.stomp?.configuration.webSocket ?? false,
            servesChat: configuration.servesChat,
            socketIO: service.engineIO != nil,
            engineIOEcho: service.engineIOEcho != nil,
            bridgePaths: service.bridge?.paths ?? []
        )
    }

    func handlerAdded(context: ChannelHandlerContext) {
        timeouts = try? context.pipeline.syncOperations.handler(type: HTTPReadTimeoutHandler.self)
        peerIsTrustedProxy = service.isTrustedProxy(context.channel.remoteAddress?.ipAddress)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            let length = head.headers.first(name: "content-length").flatMap(Int.init) ?? 0
            timeouts?.headReceived(expectsBody: length > 0 || head.headers.contains(name: "transfer-encoding"))
            headReceived(head, context: context)
        case (.body(var chunk), .reading(var request)):
            guard var body = request.body else { return }
            guard body.readableBytes + chunk.readableBytes <= service.configuration.maxMessageSize else {
                state = .discarding
                respondAndClose(
                    .error(
                        .payloadTooLarge(limit: service.configuration.maxMessageSize),
                        allocator: context.channel.allocator
                    ),
                    context: context
                )
                return
            }
            request.body = nil
            state = .discarding  // Drop the state's reference so the append below does not copy the body.
            body.writeBuffer(&chunk)
            request.body = body
            state = .reading(request)
        case (.end, .reading(let request)):
            state = .idle
            timeouts?.requestEnded()
            dispatch(request, context: context)
        case (.end, .discarding):
            state = .idle
        case (_, .discarding), (_, .handedOff), (.body, _), (.end, .idle):
            break
        case (.head, _), (.end, _):
            // HTTPServerPipelineHandler holds pipelined requests back until the response ends, so a new
            // request can only start in `.idle`. Should that ever fail, this connection ends, not the server.
            context.close(promise: nil)
        }
    }

    private func headReceived(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        let configuration = service.configuration
        // RFC 9112 §3: a server MUST answer 414 to a request-target longer than it is willing to parse.
        if head.uri.utf8.count > configuration.maxRequestLine {
            state = .discarding
            respondAndClose(
                .error(
                    HTTPError(
                        status: .uriTooLong,
                        code: "uri_too_long",
                        message: "the request target is over \(configuration.maxRequestLine) bytes"
                    ),
                    allocator: context.channel.allocator
                ),
                context: context
            )
            return
        }
        let headerBytes = head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        if headerBytes > configuration.maxHeaderSize {
            state = .discarding
            respondAndClose(
                .error(Self.headersTooLarge(configuration.maxHeaderSize), allocator: context.channel.allocator),
                context: context
            )
            return
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init),
            length > configuration.maxMessageSize
        {
            state = .discarding
            respondAndClose(
                .error(.payloadTooLarge(limit: configuration.maxMessageSize), allocator: context.channel.allocator),
                context: context
            )
            return
        }
        let expectsBody = head.method == .POST
        state = .reading(
            Request(
                head: head,
                target: RequestTarget(head.uri),
                body: expectsBody ? context.channel.allocator.buffer(capacity: 0) : nil
            )
        )
    }

    static func headersTooLarge(_ limit: Int) -> HTTPError {
        HTTPError(
            status: .requestHeaderFieldsTooLarge,
            code: "headers_too_large",
            message: "the header section is over \(limit) bytes"
        )
    }

    // MARK: Dispatch

    private func dispatch(_ request: Request, context: ChannelHandlerContext) {
        let headers = request.head.headers
        let security = service.security
        corsOrigin = nil
        // DNS rebinding: a page whose name was pointed at this server sends its own name as Host.
        guard security.allowsHost(headers) else {
            refuse(.hostNotAllowed, request: request, context: context)
            return
        }
        if request.head.method == .OPTIONS, headers.contains(name: "access-control-request-method"),
            headers.contains(name: "origin")
        {
            preflight(request, context: context)
            return
        }
        let route: Route
        switch router.route(method: request.head.method, path: request.target.path) {
        case .success(let found): route = found
        case .failure(let error):
            refuse(error, request: request, context: context)
            return
        }
        if shuttingDown, route != .health {
            refuse(
                HTTPError(status: .serviceUnavailable, code: "shutting_down", message: "the server is shutting down"),
                request: request,
                context: context
            )
            return
        }
        let client = client(of: request, context: context)
        if peerIsTrustedProxy, let slot, let refusal = slot.reassign(to: client.address) {
            // A trusted proxy's connection counts against the client it forwards for.
            respondAndClose(
                .error(
                    HTTPError(
                        status: .serviceUnavailable,
                        code: "too_many_connections",
                        message: refusal.message,
                        extraHeaders: [("Retry-After", "1")]
                    ),
                    allocator: context.channel.allocator
                ),
                context: context
            )
            return
        }
        let exposure = route.exposure
        if exposure == .privileged, let refusal = security.privilegeRefusal(headers, client: client) {
            refuse(refusal, request: request, context: context)
            return
        }
        if case .bridge = route {
            // The bridge checks Origins itself: a route (or bridge.origins) may name its own.
        } else {
            switch security.checkOrigin(headers, for: exposure) {
            case .refused(let origin):
                if case .engineIO = route {
                    // The reference server's refusal (its allowRequest): 403 {"code": 4, "message": "Forbidden"}.
                    respond(EngineIOServer.errorResponse(.forbidden), to: request.head, context: context)
                } else {
                    refuse(.originNotAllowed(origin), request: request, context: context)
                }
                return
            case .allowed(let origin):
                corsOrigin = origin
            case .absent:
                break
            }
        }
        switch route {
        case .subscribe(let channels):
            switch SubscribeRequest.parse(channels: channels, head: request.head, target: request.target) {
            case .success(var subscribeRequest):
                if case .refused = service.security.checkOrigin(request.head.headers) {
                    subscribeRequest.originMayPublish = false
                }
                let expiresAt: Int64?
                switch subscriberPrincipal(request) {
                case .success(let subscriber): (subscribeRequest.principal, expiresAt) = subscriber
                case .failure(let error):
                    refuse(error, request: request, context: context)
                    return
                }
                for channel in channels {
                    let decision = service.configuration.policy.decide(
                        .subscribe,
                        channel.rawValue,
                        by: subscribeRequest.principal
                    )
                    if case .denied(let reason) = decision {
                        respond(
                            .error(
                                HTTPError(status: .forbidden, code: "forbidden", message: reason),
                                allocator: context.channel.allocator
                            ),
                            to: request.head,
                            context: context
                        )
                        return
                    }
                }
                subscribe(subscribeRequest, head: request.head, context: context)
                // A long poll asks again, with its token, each time; the other transports hold the
                // connection, which may not outlast the token that opened it.
                if subscribeRequest.transport != .longPoll { Self.close(context.channel, atExpiry: expiresAt) }
            case .failure(let error):
                respond(.error(error, allocator: context.channel.allocator), to: request.head, context: context)
            }
        case .echo:
            upgradeToWebSocket(head: request.head, .echo(service: service), context: context)
        case .stomp:
            // The router offers /stomp only with the broker's WebSocket on.
            guard let stomp = service.stomp else { return context.close(promise: nil) }
            let upgrade = STOMPWebSocket.upgrade(service: service, stomp: stomp, offered: request.head.headers)
            upgradeToWebSocket(head: request.head, upgrade, context: context)
        case .apiCall:
            awaitResponse(to: request, context: context) { endpoints in
                try endpoints.startCall(request, on: context.eventLoop)
            }
        case .apiSocketIOSockets:
            awaitResponse(to: request, context: context) { endpoints in
                try endpoints.apiSocketIOSockets(request, on: context.eventLoop)
            }
        case .apiSocketIOEmit:
            awaitResponse(to: request, context: context) { endpoints in
                try endpoints.apiSocketIOEmit(request, on: context.eventLoop)
            }
        case .nativePoll:
            awaitResponse(to: request, context: context) { endpoints in
                try endpoints.nativePoll(request, on: context.eventLoop)
            }
        case .native:
            upgradeToWebSocket(
                head: request.head,
                NativeChannelHandler.webSocketUpgrade(service: service),
                context: context
            )
        case .bridge(let path):
            guard let bridge = service.bridge else { return context.close(promise: nil) }
            let answer = bridge.answer(request, path: path, client: client.address, service: service)
            carryOut(answer, to: request, context: context)
        case .engineIO(let application):
            guard let server = application == .socketIO ? service.engineIO : service.engineIOEcho else {
                return context.close(promise: nil)
            }
            carryOut(server.answer(request, service: service, on: context.eventLoop), to: request, context: context)
        case .nativeSSE:
            carryOut(NativeChannelHandler.sseAnswer(service: service), to: request, context: context)
        default:
            let endpoints = Endpoints(service: service, allocator: context.channel.allocator)
            respond(endpoints.handle(route, request: request), to: request.head, context: context)
        }
    }

    /// Carries out what a front end answered.
    private func carryOut(_ answer: FrontEndAnswer, to request: Request, context: ChannelHandlerContext) {
        switch answer {
        case .respond(let response):
            respond(response, to: request.head, context: context)
        case .await(let future):
            awaitResponse(to: request, context: context) { _ in future }
        case .upgrade(let upgrade, let expiresAt):
            if upgradeToWebSocket(head: request.head, upgrade, context: context) {
                Self.close(context.channel, atExpiry: expiresAt)
            }
        case .stream(let headers, let handler):
            handOffStream(to: handler, headers: headers, context: context)
        }
    }

    /// Answers `request` when the future that `start` returns completes (a back-end call, a long-poll).
    private func awaitResponse(
        to request: Request,
        context: ChannelHandlerContext,
        _ start: (Endpoints) throws -> EventLoopFuture<HTTPResponse>
    ) {
        let endpoints = Endpoints(service: service, allocator: context.channel.allocator)
        do {
            let answer = try start(endpoints)
            state = .awaiting
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
            answer.whenSuccess { response in
                handler.value.awaitedAnswer(response, head: request.head, context: contextBox.value)
            }
        } catch let error as HTTPError {
            respond(.error(error, allocator: context.channel.allocator), to: request.head, context: context)
        } catch {
            respond(
                .error(.badRequest("bad_request", "\(error)"), allocator: context.channel.allocator),
                to: request.head,
                context: context
            )
        }
    }

    /// Who subscribes: the back end with an API key (`?access_token=` or `Authorization: Bearer`), a client
    /// with what its signed token grants until it expires (milliseconds), or an anonymous client. A
    /// credential that is neither is refused.
    private func subscriberPrincipal(_ request: Request) -> Result<(Principal, expiresAt: Int64?), HTTPError> {
        var credential = request.target.parameter("access_token")
        if credential == nil, let authorization = request.head.headers.first(name: "authorization") {
            let parts = authorization.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { credential = String(parts[1].trimmingSpaces) }
        }
        guard let credential, !credential.isEmpty else { return .success((.anonymous, nil)) }
        if service.security.isAPIKey(credential) { return .success((.backend, nil)) }
        guard let tokens = service.tokens else {
            return .failure(
                HTTPError(
                    status: .unauthorized,
                    code: "invalid_token",
                    message: "the credential is not an API key, and this server accepts no tokens"
                )
            )
        }
        switch tokens.verify(credential, now: WallClock.milliseconds()) {
        case .success(let identity): return .success((.client(identity.grants), identity.expiresAt))
        case .failure(let error):
            return .failure(HTTPError(status: .unauthorized, code: "invalid_token", message: error.reason))
        }
    }

    /// Closes a connection a signed token opened (a subscription, a bridged socket) when the token
    /// expires (milliseconds since the Unix epoch); nil: never.
    private static func close(_ channel: any Channel, atExpiry expiresAt: Int64?) {
        guard let expiresAt else { return }
        let delay = WallClock.delay(until: expiresAt)
        let expiry = channel.eventLoop.scheduleTask(in: delay) {
            channel.pipeline.fireUserInboundEventTriggered(TokenExpiredEvent())
            channel.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
        }
        channel.closeFuture.whenComplete { _ in expiry.cancel() }
    }

    /// Who sent `request`: the peer, or the client a trusted proxy forwards for.
    private func client(of request: Request, context: ChannelHandlerContext) -> ForwardedClient {
        service.security.client(peer: context.channel.remoteAddress?.ipAddress, headers: request.head.headers)
    }

    /// A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): allowed origins
    /// get the methods and headers the endpoint takes; others a `403` without
    /// `Access-Control-Allow-Origin`, so the browser sends nothing.
    private func preflight(_ request: Request, context: ChannelHandlerContext) {
        let headers = request.head.headers
        let wanted = HTTPMethod(rawValue: headers.first(name: "access-control-request-method") ?? "GET")
        let route: Route
        switch router.route(method: wanted, path: request.target.path) {
        case .success(let found): route = found
        case .failure(let error):
            refuse(error, request: request, context: context)
            return
        }
        guard case .allowed(let origin) = service.security.checkOrigin(headers, for: route.exposure) else {
            refuse(.originNotAllowed(headers.first(name: "origin") ?? ""), request: request, context: context)
            return
        }
        corsOrigin = origin
        let answer: HTTPHeaders = [
            "Access-Control-Allow-Methods": "GET, POST, DELETE",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, Event-Type, Last-Event-ID",
            "Access-Control-Max-Age": "600",
        ]
        respond(HTTPResponse(status: .noContent, headers: answer), to: request.head, context: context)
    }

    private func refuse(_ error: HTTPError, request: Request, context: ChannelHandlerContext) {
        respond(.error(error, allocator: context.channel.allocator), to: request.head, context: context)
    }

    // MARK: Subscribers

    private func subscribe(_ request: SubscribeRequest, head: HTTPRequestHead, context: ChannelHandlerContext) {
        switch request.transport {
        case .webSocket:
            upgradeToWebSocket(
                head: head,
                WebSocketSubscriber.upgrade(service: service, request: request),
                context: context
            )
        case .sse:
            startStreaming(.sse, request: request, context: context)
        case .stream:
            startStreaming(.stream, request: request, context: context)
        case .longPoll:
            startLongPoll(request, head: head, context: context)
        }
    }

    private func startStreaming(
        _ kind: StreamingSubscriberHandler.Kind,
        request: SubscribeRequest,
        context: ChannelHandlerContext
    ) {
        let handler = StreamingSubscriberHandler(service: service, kind: kind, channels: request.channels)
        let gaps: [SubscriptionSet.Gap]
        do {
            gaps = try handler.subscribe(positions: request.positions, on: context.eventLoop)
        } catch {
            respondAndClose(.error(HTTPError(error), allocator: context.channel.allocator), context: context)
            return
        }
        var headers: HTTPHeaders = [
            "Content-Type": kind == .sse ? "text/event-stream; charset=utf-8" : "text/plain; charset=utf-8",
            "Cache-Control": "no-cache",
            "Transfer-Encoding": "chunked",
            "X-Accel-Buffering": "no",
            "Access-Control-Allow-Origin": "*",
            "Access-Control-Expose-Headers": "Switchboard-Gap",
        ]
        if let gap = gaps.first { headers.add(name: "Switchboard-Gap", value: gap.reason.rawValue) }
        handOffStream(to: handler, headers: headers, context: context)
    }

    /// Writes the head of a streamed response and gives the connection to `handler`. From here on the
    /// handler writes finished chunks itself and ignores what the client sends: every HTTP handler leaves,
    /// so an idle stream holds no parser state. The request decoder goes on the next tick, outside its own
    /// decoding loop (this code runs inside it).
    private func handOffStream(
        to handler: any ChannelHandler,
        headers: HTTPHeaders,
        context: ChannelHandlerContext
    ) {
        var headers = headers
        addCORS(to: &headers)
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))),
            promise: nil
        )
        state = .handedOff
        let pipeline = context.pipeline.syncOperations
        do {
            try pipeline.removeHandler(pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
            try pipeline.removeHandler(pipeline.handler(type: HTTPServerPipelineHandler.self), promise: nil)
            removeTimeouts(from: pipeline)
            try pipeline.addHandler(handler, position: .after(self))
            pipeline.removeHandler(context: context, promise: nil)
        } catch {
            context.close(promise: nil)
            return
        }
        let channel = context.channel
        context.eventLoop.execute {
            let pipeline = channel.pipeline.syncOperations
            if let decoder = try? pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self) {
                pipeline.removeHandler(decoder, promise: nil)
            }
        }
    }

    private func startLongPoll(_ request: SubscribeRequest, head: HTTPRequestHead, context: ChannelHandlerContext) {
        let poll = LongPollSubscriber(service: service, channels: request.channels, eventLoop: context.eventLoop)
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        let immediate = poll.start(positions: request.positions) { response in
            handler.value.longPollFinished(response, head: head, context: contextBox.value)
        }
        if let immediate {
            respond(immediate, to: head, context: context)
        } else {
            state = .longPolling(poll)
        }
    }

    private func awaitedAnswer(_ response: HTTPResponse, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .awaiting = state else { return }
        state = .idle
        respond(response, to: head, context: context)
    }

    private func longPollFinished(_ response: HTTPResponse, head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .longPolling = state else { return }
        state = .idle
        respond(response, to: head, context: context)
    }

    /// Answers the WebSocket handshake with what `upgrade` claims and installs its handlers; false when
    /// the request was refused instead.
    @discardableResult
    private func upgradeToWebSocket(
        head: HTTPRequestHead,
        _ upgrade: WebSocketUpgrade,
        context: ChannelHandlerContext
    ) -> Bool {
        let accept: String
        switch WebSocketHandshake.accept(head.headers) {
        case .success(let value): accept = value
        case .failure(let refusal):
            upgrade.abandoned()
            respondAndClose(.error(HTTPError(refusal), allocator: context.channel.allocator), context: context)
            return false
        }
        var headers: HTTPHeaders = ["Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Accept": accept]
        if let subprotocol = upgrade.subprotocol { headers.add(name: "Sec-WebSocket-Protocol", value: subprotocol) }
        state = .handedOff
        let switchingProtocols = HTTPResponseHead(version: .http1_1, status: .switchingProtocols, headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(switchingProtocols)), promise: nil)
        // The WebSocket handlers go in at once rather than when the write completes: what they write
        // queues behind the 101, and a `/sub` subscription exists before the client can read the answer
        // (and publish, on another connection, expecting to receive it). A client that left meanwhile
        // closes the channel, which tears them down.
        installWebSocket(upgrade, context: context)
        return true
    }

    /// Replaces the HTTP handlers by the WebSocket ones, as NIO's upgrader does: the request decoder goes
    /// last and forwards any bytes it already read past the handshake to the frame decoder.
    private func installWebSocket(_ upgrade: WebSocketUpgrade, context: ChannelHandlerContext) {
        let pipeline = context.pipeline.syncOperations
        do {
            let decoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
            try pipeline.removeHandler(pipeline.handler(type: HTTPResponseEncoder.self), promise: nil)
            try pipeline.removeHandler(pipeline.handler(type: HTTPServerPipelineHandler.self), promise: nil)
            removeTimeouts(from: pipeline)
            for added in try upgrade.makeHandlers(context.channel).reversed() {
                try pipeline.addHandler(added, position: .after(decoder))
            }
            pipeline.removeHandler(context: context, promise: nil)
            pipeline.removeHandler(decoder, promise: nil)
        } catch {
            upgrade.abandoned()
            context.close(promise: nil)
        }
    }

    // MARK: Responses

    private func respond(_ response: HTTPResponse, to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive && !shuttingDown
        write(response, keepAlive: keepAlive, version: head.version, context: context)
    }

    private func respondAndClose(_ response: HTTPResponse, context: ChannelHandlerContext) {
        write(response, keepAlive: false, version: .http1_1, context: context)
    }

    private func write(_ response: HTTPResponse, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext)
    {
        var headers = response.headers
        addCORS(to: &headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let head = HTTPResponseHead(
            version: version.major == 1 && version.minor == 0 ? .http1_0 : .http1_1,
            status: response.status,
            headers: headers
        )
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        timeouts?.responseSent(keepAlive: keepAlive)
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }

    /// The connection stops being request/response (a WebSocket, a stream): the read deadlines end; the
    /// protocol that takes over has its own (pings, heart-beats).
    private func removeTimeouts(from pipeline: ChannelPipeline.SynchronousOperations) {
        guard let timeouts else { return }
        self.timeouts = nil
        pipeline.removeHandler(timeouts, promise: nil)
    }

    /// An allowed cross-origin request's answer names its origin (instead of `*`, which some endpoints
    /// give every reader), so the page can read it; `Vary` tells caches.
    private func addCORS(to headers: inout HTTPHeaders) {
        guard let corsOrigin else { return }
        headers.replaceOrAdd(name: "Access-Control-Allow-Origin", value: corsOrigin)
        headers.add(name: "Vary", value: "Origin")
    }

    // MARK: Lifecycle

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Malformed HTTP (RFC 9112 §2.2: respond 400 and close). Header sections over the decoder's limit: 431.
        guard let parseError = error as? HTTPParserError else {
            context.close(promise: nil)
            return
        }
        switch state {
        case .idle, .reading, .discarding:
            state = .discarding
            let httpError =
                parseError == .headerOverflow
                ? Self.headersTooLarge(service.configuration.maxHeaderSize)
                : HTTPError.badRequest("malformed_request", "malformed HTTP request (\(parseError))")
            respondAndClose(.error(httpError, allocator: context.channel.allocator), context: context)
        case .longPolling, .handedOff, .awaiting:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .longPolling(let poll) = state { poll.cancel() }
        state = .idle
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        guard event is GracefulShutdownEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        shuttingDown = true
        switch state {
        case .longPolling(let poll):
            poll.shutdown()
        case .idle:
            context.close(promise: nil)
        case .reading, .discarding, .handedOff, .awaiting:
            break  // The current answer goes out with `Connection: close`.
        }
    }
}
