import NIOCore
import NIOHTTP1
import SwitchboardAuth
import SwitchboardCore

/// `GET /sub/{channels}`: who subscribes, whether the policy lets them, and the transport's answer — a
/// WebSocket, a stream (SSE or the template stream), or a long poll.
enum HTTPSubscription {
    static func answer(channels: [ChannelName], request: FrontEndRequest) -> FrontEndAnswer {
        let service = request.service
        let refuse = { (error: HTTPError) in FrontEndAnswer.respond(.error(error, allocator: request.allocator)) }
        let head = request.http.head
        var subscription: SubscribeRequest
        switch SubscribeRequest.parse(channels: channels, head: head, target: request.http.target) {
        case .success(let parsed): subscription = parsed
        case .failure(let error): return refuse(error)
        }
        if case .refused = service.security.checkOrigin(head.headers) { subscription.originMayPublish = false }
        let expiresAt: Int64?
        switch principal(of: request.http, service: service) {
        case .success(let subscriber): (subscription.principal, expiresAt) = subscriber
        case .failure(let error): return refuse(error)
        }
        for channel in channels {
            let decision = service.configuration.policy.decide(.subscribe, channel.rawValue, by: subscription.principal)
            if case .denied(let reason) = decision {
                return refuse(HTTPError(status: .forbidden, code: "forbidden", message: reason))
            }
        }
        switch subscription.transport {
        case .webSocket:
            // The connection may not outlast the token that opened it; a long poll asks again, with its
            // token, each time.
            return .upgrade(WebSocketSubscriber.upgrade(service: service, request: subscription), expiresAt: expiresAt)
        case .sse:
            return stream(.sse, subscription, request: request, expiresAt: expiresAt)
        case .stream:
            return stream(.stream, subscription, request: request, expiresAt: expiresAt)
        case .longPoll:
            let poll = LongPollSubscriber(
                service: service,
                channels: subscription.channels,
                eventLoop: request.eventLoop
            )
            return .longPoll(poll, positions: subscription.positions)
        }
    }

    /// The stream's answer once the hub has the channels at hand (at once, unless another node holds them).
    private static func stream(
        _ kind: StreamingSubscriberHandler.Kind,
        _ subscription: SubscribeRequest,
        request: FrontEndRequest,
        expiresAt: Int64?
    ) -> FrontEndAnswer {
        .deferred { answer in
            request.service.hub.whenReady(subscription.channels, on: request.eventLoop) {
                answer(streamNow(kind, subscription, request: request, expiresAt: expiresAt))
            } refused: { refusal in
                answer(.respond(.error(HTTPError(refusal), allocator: request.allocator)))
            }
        }
    }

    private static func streamNow(
        _ kind: StreamingSubscriberHandler.Kind,
        _ subscription: SubscribeRequest,
        request: FrontEndRequest,
        expiresAt: Int64?
    ) -> FrontEndAnswer {
        let handler = StreamingSubscriberHandler(service: request.service, kind: kind, channels: subscription.channels)
        let gaps: [SubscriptionSet.Gap]
        do {
            gaps = try handler.subscribe(positions: subscription.positions, on: request.eventLoop)
        } catch {
            return .respond(.error(HTTPError(error), allocator: request.allocator))
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
        return .stream(headers, handler, expiresAt: expiresAt)
    }

    /// Who subscribes: the back end with an API key (`?access_token=` or `Authorization: Bearer`), a client
    /// with what its signed token grants until it expires (milliseconds), or an anonymous client. A
    /// credential that is neither is refused.
    private static func principal(
        of request: HTTPRequest,
        service: HTTPService
    ) -> Result<(Principal, expiresAt: Int64?), HTTPError> {
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
}
