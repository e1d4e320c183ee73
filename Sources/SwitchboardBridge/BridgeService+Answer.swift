import NIOCore
import NIOHTTP1
import SwitchboardAuth
import SwitchboardCore
import SwitchboardHTTP

extension BridgeService {
    /// A bridged WebSocket from `client`: where it goes is decided, and the connection limits checked,
    /// before the upgrade and before any TCP connection is made. A route may name its own Origins; a
    /// token, when the route asks for one, also bounds how long the connection lives.
    func answer(
        _ request: HTTPRequest,
        path: String,
        client: String,
        service: HTTPService
    ) -> FrontEndAnswer {
        var expiresAt: Int64?
        let verifier = service.tokens
        let security = service.security
        let headers = request.head.headers
        let refuse = { (error: HTTPError) in FrontEndAnswer.respond(.error(error, allocator: service.allocator)) }
        let resolved = resolve(
            path: path,
            target: request.target,
            originIsAllowed: { patterns in
                let listed = patterns.isEmpty ? nil : patterns.compactMap(OriginPattern.init)
                if case .refused = security.checkOrigin(headers, patterns: listed) { return false }
                return true
            },
            credentialIsValid: { credential in
                if security.isAPIKey(credential) { return true }
                guard let verifier,
                    case .success(let identity) = verifier.verify(credential, now: WallClock.milliseconds())
                else { return false }
                expiresAt = identity.expiresAt
                return true
            }
        )
        let target: Target
        switch resolved {
        case .failure(let error): return refuse(error)
        case .success(let resolved): target = resolved
        }
        let offered = headers[canonicalForm: "sec-websocket-protocol"].map { $0.lowercased() }
        guard offered.isEmpty || offered.contains("binary") else {
            return refuse(.badRequest("unsupported_subprotocol", "the bridge speaks the binary subprotocol (or none)"))
        }
        if let error = admit(target, client: client) { return refuse(error) }
        // From here the session holds the admission: it gives it back when it ends, or when the upgrade
        // is refused or abandoned.
        let session = BridgeSession(bridge: self, target: target, client: client)
        return .upgrade(session.webSocketUpgrade(service: service, offered: headers), expiresAt: expiresAt)
    }
}
