import NIOCore
import NIOHTTP1

extension RequestSecurity {
    /// What the checks of a routed request's exposure decided.
    enum Admission {
        /// Answer it; an allowed cross-origin request names its origin in the answer (CORS).
        case admitted(corsOrigin: String?)
        /// Its front end checks the `Origin` itself (the privilege does not apply to it).
        case checkedByFrontEnd
        case refused(HTTPResponse)
    }

    /// The privilege a privileged route needs, then the `Origin` policy of its exposure (answered with the
    /// front end's own refusal when it has one).
    func admit(
        _ match: RouteMatch,
        headers: HTTPHeaders,
        client: ForwardedClient,
        allocator: ByteBufferAllocator
    ) -> Admission {
        let exposure = match.exposure
        if exposure == .privileged, let refusal = privilegeRefusal(headers, client: client) {
            return .refused(.error(refusal, allocator: allocator))
        }
        var ownRefusal: (() -> HTTPResponse)?
        if case .frontEnd(let route) = match {
            switch route.originCheck {
            case .standard: break
            case .refusedWith(let answer): ownRefusal = answer
            case .byFrontEnd: return .checkedByFrontEnd
            }
        }
        switch checkOrigin(headers, for: exposure) {
        case .refused(let origin):
            return .refused(ownRefusal?() ?? .error(.originNotAllowed(origin), allocator: allocator))
        case .allowed(let origin):
            return .admitted(corsOrigin: origin)
        case .absent:
            return .admitted(corsOrigin: nil)
        }
    }

    /// A CORS preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`) for a request that
    /// would go to `match`: allowed origins get the methods and headers the endpoints take; others a
    /// `403` without `Access-Control-Allow-Origin`, so the browser sends nothing.
    func preflight(
        _ match: RouteMatch,
        headers: HTTPHeaders,
        allocator: ByteBufferAllocator
    ) -> (HTTPResponse, corsOrigin: String?) {
        guard case .allowed(let origin) = checkOrigin(headers, for: match.exposure) else {
            let refusal = HTTPError.originNotAllowed(headers.first(name: "origin") ?? "")
            return (.error(refusal, allocator: allocator), nil)
        }
        let answer: HTTPHeaders = [
            "Access-Control-Allow-Methods": "GET, POST, DELETE",
            "Access-Control-Allow-Headers": "Authorization, Content-Type, Event-Type, Last-Event-ID",
            "Access-Control-Max-Age": "600",
        ]
        return (HTTPResponse(status: .noContent, headers: answer), origin)
    }
}
