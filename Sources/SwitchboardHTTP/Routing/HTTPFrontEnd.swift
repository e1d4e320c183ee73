package import NIOCore
package import NIOHTTP1
package import SwitchboardCore

/// A front end's part of the HTTP surface — the native protocol, Socket.IO, STOMP over WebSocket, the
/// bridge: the requests it claims, how exposed each is, and its answer. ``HTTPHandler`` asks every front
/// end (in ``HTTPService/frontEnds`` order) before its own routes, applies the checks the claim's exposure
/// calls for (Host, the privilege, Origin, CORS), then carries out the answer: it knows no protocol. A new
/// front end is one type that conforms, and one line where the service lists its front ends.
package protocol HTTPFrontEnd: Sendable {
    /// The route for `method` and `path` when the path is this front end's — or the error that answers
    /// it (a method it does not take, a bad channel name); nil when the path is not its.
    func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>?

    /// Its part of `GET /stats`, if any (an object named after the front end).
    func writeStatistics(into json: inout JSONWriter)

    /// The server drains: what the connection registry does not reach (sessions that are not channels,
    /// such as long-poll sessions) is told here.
    func serverShuttingDown()
}

extension HTTPFrontEnd {
    package func writeStatistics(into json: inout JSONWriter) {}
    package func serverShuttingDown() {}

    /// `route` when `method` is one of `allowed` (HEAD counts as GET), else the `405` that lists them.
    package func claimed(
        _ method: HTTPMethod,
        _ allowed: [HTTPMethod],
        _ route: () throws(HTTPError) -> FrontEndRoute
    ) -> Result<FrontEndRoute, HTTPError> {
        do throws(HTTPError) {
            try Router.allow(method, allowed)
            return .success(try route())
        } catch {
            return .failure(error)
        }
    }
}

/// A request a front end claimed: what it exposes, how its `Origin` is checked, and how it is answered.
package struct FrontEndRoute {
    package enum OriginCheck {
        /// ``RequestSecurity/checkOrigin(_:for:)`` for the exposure; a refusal is `403 origin_not_allowed`.
        case standard
        /// The same check, with the front end's own refusal (Engine.IO answers as its reference server).
        case refusedWith(() -> HTTPResponse)
        /// The front end checks it itself (a bridge route may name its own origins).
        case byFrontEnd
    }

    package var exposure: RequestSecurity.Exposure
    package var originCheck = OriginCheck.standard
    /// Called once the request passed the checks.
    package var answer: (FrontEndRequest) -> FrontEndAnswer

    package init(
        exposure: RequestSecurity.Exposure,
        originCheck: OriginCheck = .standard,
        answer: @escaping (FrontEndRequest) -> FrontEndAnswer
    ) {
        self.exposure = exposure
        self.originCheck = originCheck
        self.answer = answer
    }
}

/// What a front end's answer gets: the request, who sent it, and where it runs.
package struct FrontEndRequest {
    package let http: HTTPRequest
    /// The peer, or the client a trusted proxy forwards for.
    package let client: ForwardedClient
    package let service: HTTPService
    package let eventLoop: any EventLoop
    package let allocator: ByteBufferAllocator

    /// The request/response endpoints, for front ends whose API answers with them.
    package var endpoints: Endpoints { Endpoints(service: service, allocator: allocator) }

    /// An endpoint's answer now; what it throws becomes the matching error answer.
    package func respond(_ endpoint: (Endpoints) throws -> HTTPResponse) -> FrontEndAnswer {
        do {
            return .respond(try endpoint(endpoints))
        } catch {
            return .respond(Endpoints.errorResponse(error, allocator: allocator))
        }
    }

    /// An endpoint's answer later; what it throws before it starts waiting is answered now.
    package func await(_ endpoint: (Endpoints) throws -> EventLoopFuture<HTTPResponse>) -> FrontEndAnswer {
        do {
            return .await(try endpoint(endpoints))
        } catch {
            return .respond(Endpoints.errorResponse(error, allocator: allocator))
        }
    }
}
