package import NIOHTTP1
import SwitchboardCore

/// The HTTP front end's rules for who may ask what, decided per request from its headers and its
/// client (a pure value: see its tests). It closes the holes of an "ambient" loopback privilege:
///
/// - **DNS rebinding**: a `Host` not in `security.hosts` is refused before routing (``allowsHost(_:)``).
/// - **CSRF** from a page in a browser on the server's machine: a privileged request (`/pub`, `/api`,
///   `/stats`) with a foreign `Origin`, or `Sec-Fetch-Site: cross-site`, is refused even from loopback.
/// - **A proxy on the same host**: forwarding headers from a peer that is not a trusted proxy take the
///   loopback privilege away; a request through a trusted one never has it (its forwarded client is the
///   one counted and logged).
/// - **DNS rebinding on a public listener**: the loopback privilege also needs a `Host` that names this
///   machine (or one of `security.hosts`), not whatever name a page pointed here.
/// - **Foreign pages on two-way endpoints**: the native protocol, `/stomp`, `/socket.io/` and the bridge
///   answer only the same origin, `security.origins`, and clients that send no `Origin` (not browsers).
package struct RequestSecurity: Sendable {
    /// What an endpoint exposes, which decides the checks it gets.
    package enum Exposure: Sendable, Equatable {
        /// Publishing, the server API, stats: the back end only (an API key, or loopback).
        case privileged
        /// Endpoints where a page sends as well as receives: the Origin policy.
        case twoWay
        /// Read-only subscribing (`GET /sub/...`): `security.subscribe_origins` (any by default).
        case subscribe
        /// Health, the web files.
        case open
    }

    /// What the `Origin` of a request says.
    package enum OriginCheck: Sendable, Equatable {
        /// No `Origin` header: not a browser, or a same-origin navigation.
        case absent
        /// An allowed origin (its header value, echoed in CORS answers).
        case allowed(String)
        /// A foreign origin.
        case refused(String)
    }

    let hosts: HostAllowList
    let origins: [OriginPattern]
    let subscribeOrigins: [OriginPattern]
    let trustedProxies: [IPRange]
    package let forwardingHeader: ForwardingHeader
    package let allowLoopback: Bool
    package let apiKeys: [String]
    /// The port a `Host` without one means (80, or 443 on a TLS listener).
    package let defaultPort: Int

    package init(configuration: HTTPConfiguration) {
        self.hosts = HostAllowList(configuration.hosts)
        self.origins = configuration.origins.compactMap(OriginPattern.init)
        self.subscribeOrigins = configuration.subscribeOrigins.compactMap(OriginPattern.init)
        self.trustedProxies = configuration.trustedProxies.compactMap(IPRange.init)
        self.forwardingHeader = configuration.forwardingHeader
        self.allowLoopback = configuration.allowLoopback
        self.apiKeys = configuration.apiKeys
        self.defaultPort = configuration.usesTLS ? 443 : 80
    }

    /// Whether a request with these headers may be answered at all (DNS rebinding).
    package func allowsHost(_ headers: HTTPHeaders) -> Bool {
        hosts.allows(headers.first(name: "host"))
    }

    /// The client of a request from `peer` (its IP address as text).
    package func client(peer: String?, headers: HTTPHeaders) -> ForwardedClient {
        ForwardedClient.of(peer: peer, headers: headers, trustedProxies: trustedProxies, header: forwardingHeader)
    }

    /// Checks `Origin` against `patterns` (nil: the default policy, same origin or `security.origins`).
    package func checkOrigin(_ headers: HTTPHeaders, patterns: [OriginPattern]? = nil) -> OriginCheck {
        guard let value = headers.first(name: "origin") else { return .absent }
        let origin = WebOrigin(parsing: value)
        if let patterns { return patterns.contains { $0.matches(origin) } ? .allowed(value) : .refused(value) }
        if let origin, isSameOrigin(origin, headers: headers) { return .allowed(value) }
        return origins.contains { $0.matches(origin) } ? .allowed(value) : .refused(value)
    }

    /// Whether `origin` is the request's own: its host and port are the `Host` header's.
    func isSameOrigin(_ origin: WebOrigin, headers: HTTPHeaders) -> Bool {
        guard let host = headers.first(name: "host"),
            let (name, port) = HostAndPort.split(host, defaultPort: defaultPort)
        else { return false }
        return origin.host == name && origin.port == port
    }

    /// The Origin decision for an endpoint of `exposure`.
    package func checkOrigin(_ headers: HTTPHeaders, for exposure: Exposure) -> OriginCheck {
        switch exposure {
        case .subscribe: checkOrigin(headers, patterns: subscribeOrigins)
        case .privileged, .twoWay: checkOrigin(headers)
        case .open: headers.first(name: "origin").map { .allowed($0) } ?? .absent
        }
    }

    /// Why a privileged request is refused, or nil when it is the back end's.
    package func privilegeRefusal(_ headers: HTTPHeaders, client: ForwardedClient) -> HTTPError? {
        // A browser's signs first: they refuse even what a key or loopback would allow, as a page can make
        // a browser send requests with the user's network position (and a key the page was given).
        switch checkOrigin(headers) {
        case .refused(let origin):
            return HTTPError(
                status: .forbidden,
                code: "origin_not_allowed",
                message: "a page from \(origin.prefix(100)) may not publish or use the API (security.origins)"
            )
        case .absent where headers.first(name: "sec-fetch-site")?.lowercased() == "cross-site":
            return HTTPError(
                status: .forbidden,
                code: "origin_not_allowed",
                message: "a cross-site browser request (Sec-Fetch-Site) may not publish or use the API"
            )
        case .absent, .allowed:
            break
        }
        if hasValidKey(headers) { return nil }
        guard allowLoopback, client.isLoopback else { return .forbidden }
        if client.forwardedByUntrustedPeer {
            return HTTPError(
                status: .forbidden,
                code: "forbidden",
                message: "forwarded by a proxy that is not in security.trusted_proxies: "
                    + "publishing and the API need Authorization: Bearer <api key>"
            )
        }
        if client.isForwarded {
            return HTTPError(
                status: .forbidden,
                code: "forbidden",
                message: "a request through a proxy never has the loopback privilege: "
                    + "publishing and the API need Authorization: Bearer <api key>"
            )
        }
        guard hosts.vouchesForLocal(headers.first(name: "host")) else {
            return HTTPError(
                status: .forbidden,
                code: "forbidden",
                message: "the loopback privilege needs Host to be this machine (localhost, 127.0.0.1, [::1]) or "
                    + "one of security.hosts; otherwise use Authorization: Bearer <api key>"
            )
        }
        return nil
    }

    /// Whether `Authorization: Bearer KEY` names a key of `security.api_keys`.
    package func hasValidKey(_ headers: HTTPHeaders) -> Bool {
        guard !apiKeys.isEmpty, let authorization = headers.first(name: "authorization") else { return false }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return false }
        let key = String(parts[1].trimmingSpaces)
        return apiKeys.contains { ConstantTime.equals($0, key) }
    }

    /// Whether `credential` (an `?access_token=`) is one of the API keys.
    package func isAPIKey(_ credential: String) -> Bool {
        apiKeys.contains { ConstantTime.equals($0, credential) }
    }
}
