import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardWebSocket

/// The per-connection HTTP handler: reads a request (head and bounded body), routes it (``Router``: the
/// front ends, then the core), applies the checks its exposure calls for, and carries out the answer —
/// a response now or later, a long poll, or the connection handed to a WebSocket or a stream. It knows
/// no protocol: those are the front ends' (``HTTPFrontEnd``).
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        case reading(HTTPRequest)
        /// The request was answered early (an error); the rest of it is discarded.
        case discarding
        case longPolling(LongPollSubscriber)
        /// Waiting for an answer to come from elsewhere (a page answering `POST /api/call`).
        case awaiting
        /// The connection now belongs to another handler.
        case handedOff
    }

    private let service: HTTPService
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
            if let refusal = service.configuration.refusal(of: head) {
                return refuseAndClose(refusal, context: context)
            }
            let body = head.method == .POST ? context.channel.allocator.buffer(capacity: 0) : nil
            state = .reading(HTTPRequest(head: head, target: RequestTarget(head.uri), body: body))
        case (.body(var chunk), .reading(var request)):
            guard var body = request.body else { return }
            let limit = service.configuration.maxMessageSize
            guard body.readableBytes + chunk.readableBytes <= limit else {
                return refuseAndClose(.payloadTooLarge(limit: limit), context: context)
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

    // MARK: Dispatch

    private func dispatch(_ request: HTTPRequest, context: ChannelHandlerContext) {
        let headers = request.head.headers
        let security = service.security
        corsOrigin = nil
        // DNS rebinding: a page whose name was pointed at this server sends its own name as Host.
        guard security.allowsHost(headers) else { return refuse(.hostNotAllowed, request: request, context: context) }
        if request.head.method == .OPTIONS, headers.contains(name: "access-control-request-method"),
            headers.contains(name: "origin")
        {
            return preflight(request, context: context)
        }
        let match: RouteMatch
        switch service.router.match(method: request.head.method, path: request.target.path) {
        case .success(let found): match = found
        case .failure(let error): return refuse(error, request: request, context: context)
        }
        if shuttingDown, !match.answersWhileDraining {
            return refuse(.shuttingDown, request: request, context: context)
        }
        let client = security.client(peer: context.channel.remoteAddress?.ipAddress, headers: headers)
        if peerIsTrustedProxy, let slot, let refusal = slot.reassign(to: client.address) {
            // A trusted proxy's connection counts against the client it forwards for.
            return refuseAndClose(.tooManyConnections(refusal.message), context: context)
        }
        switch security.admit(match, headers: headers, client: client, allocator: context.channel.allocator) {
        case .admitted(let origin): corsOrigin = origin
        case .checkedByFrontEnd: break
        case .refused(let response): return respond(response, to: request.head, context: context)
        }
        answer(match, request, client: client, context: context)
    }

    private func answer(
        _ match: RouteMatch,
        _ request: HTTPRequest,
        client: ForwardedClient,
        context: ChannelHandlerContext
    ) {
        let frontEndRequest = FrontEndRequest(
            http: request,
            client: client,
            service: service,
            eventLoop: context.eventLoop,
            allocator: context.channel.allocator
        )
        let answer: FrontEndAnswer =
            switch match {
            case .frontEnd(let route): route.answer(frontEndRequest)
            case .core(.subscribe(let channels)): HTTPSubscription.answer(channels: channels, request: frontEndRequest)
            case .core(.echo): .upgrade(.echo(service: service))
            case .core(let route): frontEndRequest.endpoints.answer(route, request: request, on: context.eventLoop)
            }
        carryOut(answer, to: request, context: context)
    }

    /// Carries out what a front end (or `/sub`) answered.
    private func carryOut(_ answer: FrontEndAnswer, to request: HTTPRequest, context: ChannelHandlerContext) {
        let head = request.head
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let contextBox = NIOLoopBound(context, eventLoop: context.eventLoop)
        let finish: @Sendable (HTTPResponse) -> Void = {
            handler.value.answered(response: $0, head: head, context: contextBox.value)
        }
        switch answer {
        case .respond(let response):
            respond(response, to: head, context: context)
        case .await(let future):
            state = .awaiting
            future.whenSuccess(finish)
        case .deferred(let start):
            state = .awaiting
            start { answer in
                // Unless the client left meanwhile (the state was reset).
                guard case .awaiting = handler.value.state else { return }
                handler.value.state = .idle
                handler.value.carryOut(answer, to: request, context: contextBox.value)
            }
        case .longPoll(let poll, let positions):
            if let immediate = poll.start(positions: positions, completion: finish) {
                respond(immediate, to: head, context: context)
            } else {
                state = .longPolling(poll)
            }
        case .upgrade(let upgrade, let expiresAt):
            state = .handedOff
            if let error = PipelineHandOff.webSocket(upgrade, head: head, replacing: context, timeouts: timeouts) {
                refuseAndClose(error, context: context)
            } else {
                timeouts = nil
                TokenExpiry.close(context.channel, at: expiresAt)
            }
        case .stream(var headers, let streamHandler, let expiresAt):
            addCORS(to: &headers)
            state = .handedOff
            PipelineHandOff.stream(headers, to: streamHandler, replacing: context, timeouts: timeouts)
            timeouts = nil
            TokenExpiry.close(context.channel, at: expiresAt)
        }
    }

    /// The answer that was awaited (a back-end call, a poll) or long-polled for.
    private func answered(response: HTTPResponse, head: HTTPRequestHead, context: ChannelHandlerContext) {
        switch state {
        case .awaiting, .longPolling:
            state = .idle
            respond(response, to: head, context: context)
        case .idle, .reading, .discarding, .handedOff:
            break
        }
    }

    /// A CORS preflight: answered for the route the request it announces would take.
    private func preflight(_ request: HTTPRequest, context: ChannelHandlerContext) {
        let headers = request.head.headers
        let wanted = HTTPMethod(rawValue: headers.first(name: "access-control-request-method") ?? "GET")
        switch service.router.match(method: wanted, path: request.target.path) {
        case .success(let match):
            let answer: HTTPResponse
            (answer, corsOrigin) = service.security.preflight(
                match,
                headers: headers,
                allocator: context.channel.allocator
            )
            respond(answer, to: request.head, context: context)
        case .failure(let error):
            refuse(error, request: request, context: context)
        }
    }

    private func refuse(_ error: HTTPError, request: HTTPRequest, context: ChannelHandlerContext) {
        respond(.error(error, allocator: context.channel.allocator), to: request.head, context: context)
    }

    // MARK: Responses

    private func respond(_ response: HTTPResponse, to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let keepAlive = head.isKeepAlive && !shuttingDown
        write(response, keepAlive: keepAlive, version: head.version, context: context)
    }

    /// Answers with `error` and closes the connection; what is still to come of the request is dropped.
    private func refuseAndClose(_ error: HTTPError, context: ChannelHandlerContext) {
        state = .discarding
        write(
            .error(error, allocator: context.channel.allocator),
            keepAlive: false,
            version: .http1_1,
            context: context
        )
    }

    private func write(_ response: HTTPResponse, keepAlive: Bool, version: HTTPVersion, context: ChannelHandlerContext)
    {
        var headers = response.headers
        addCORS(to: &headers)
        headers.replaceOrAdd(name: "Content-Length", value: String(response.body.readableBytes))
        headers.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        let version: HTTPVersion = version.major == 1 && version.minor == 0 ? .http1_0 : .http1_1
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: response.status, headers: headers))),
            promise: nil
        )
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
        guard let parseError = error as? HTTPParserError else { return context.close(promise: nil) }
        switch state {
        case .idle, .reading, .discarding:
            let httpError =
                parseError == .headerOverflow
                ? HTTPConfiguration.headersTooLarge(service.configuration.maxHeaderSize)
                : HTTPError.badRequest("malformed_request", "malformed HTTP request (\(parseError))")
            refuseAndClose(httpError, context: context)
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
        guard event is GracefulShutdownEvent else { return context.fireUserInboundEventTriggered(event) }
        shuttingDown = true
        switch state {
        case .longPolling(let poll): poll.shutdown()
        case .idle: context.close(promise: nil)
        case .reading, .discarding, .handedOff, .awaiting: break  // The answer goes out with `Connection: close`.
        }
    }
}
