import Atomics
import NIOHTTP1
package import SwitchboardCore
import SwitchboardHTTP
import Synchronization

/// The bridge's shared state: which paths it serves, where each request may go (decided before any TCP
/// connection is made), the connection limits, and the counters of `/stats`. Thread-safe.
package final class BridgeService: Sendable {
    /// Where an admitted request goes.
    struct Target: Sendable {
        /// The route it came by (its path: a named route's, `/websockify` or `/tcp`).
        let route: String
        let address: BridgeAddress
        let text: Bool
        var proxyProtocol = false
    }

    /// One route's counters.
    final class RouteCounters: Sendable {
        let open = ManagedAtomic<Int>(0)
        let total = ManagedAtomic<Int>(0)
        let bytesToTarget = ManagedAtomic<Int>(0)
        let bytesFromTarget = ManagedAtomic<Int>(0)
        let refused = ManagedAtomic<Int>(0)
        let failed = ManagedAtomic<Int>(0)
    }

    static let tokenPath = "/websockify"
    static let allowListPath = "/tcp"

    let configuration: BridgeConfiguration
    /// How target connections are opened (NIOPosix, in SwitchboardServer).
    let connector: any TCPConnector
    private let routes: [String: BridgeConfiguration.Route]
    private let allowList: BridgeAllowList
    private let tokens: BridgeTokenFile?
    /// Counters by route path, in the order of the configuration.
    let counters: [(route: String, counters: RouteCounters)]
    private let perAddress = Mutex<[String: Int]>([:])

    package init(configuration: BridgeConfiguration, connector: any TCPConnector) {
        self.configuration = configuration
        self.connector = connector
        self.routes = Dictionary(configuration.routes.map { ($0.path, $0) }, uniquingKeysWith: { first, _ in first })
        self.allowList = BridgeAllowList(configuration.allow)
        self.tokens = configuration.tokenFile.map(BridgeTokenFile.init(path:))
        var names = configuration.routes.map(\.path)
        if configuration.tokenFile != nil { names.append(Self.tokenPath) }
        if !configuration.allow.isEmpty { names.append(Self.allowListPath) }
        self.counters = names.map { ($0, RouteCounters()) }
        self.paths = Set(names)
    }

    /// The paths the bridge answers.
    let paths: Set<String>

    func counters(of route: String) -> RouteCounters? {
        counters.first { $0.route == route }?.counters
    }

    /// Where a request for `path` goes, or why it may not go anywhere (no TCP connection is attempted
    /// for a refused one): the route's Origin list and credential requirement are checked first.
    /// `originIsAllowed` checks the request's `Origin` against a list (empty: the server's own Origin
    /// policy); `credentialIsValid` says whether an `access_token` is an API key or a valid signed token.
    func resolve(
        path: String,
        target: RequestTarget,
        originIsAllowed: (_ patterns: [String]) -> Bool,
        credentialIsValid: (String) -> Bool
    ) -> Result<Target, HTTPError> {
        let route = routes[path]
        var result: Result<Target, HTTPError>
        if !originIsAllowed(route?.origins ?? configuration.origins) {
            result = .failure(
                HTTPError(
                    status: .forbidden,
                    code: "origin_not_allowed",
                    message: "pages from that origin may not use \(path) (bridge.origins, security.origins)"
                )
            )
        } else if route?.requiresAuthentication ?? configuration.auth,
            !(target.parameter("access_token").map(credentialIsValid) ?? false)
        {
            result = .failure(
                HTTPError(
                    status: .unauthorized,
                    code: "unauthorized",
                    message: "\(path) needs ?access_token= (an API key or a signed token)"
                )
            )
        } else {
            result = decide(path: path, target: target)
        }
        if case .failure = result { counters(of: path)?.refused.wrappingIncrement(ordering: .relaxed) }
        return result
    }

    private func decide(path: String, target: RequestTarget) -> Result<Target, HTTPError> {
        if let route = routes[path] {
            return .success(
                Target(route: path, address: route.target, text: route.text, proxyProtocol: route.proxyProtocol)
            )
        }
        if path == Self.tokenPath, let tokens {
            guard let token = target.parameter("token"), !token.isEmpty else {
                return .failure(.badRequest("missing_token", "/websockify needs ?token=NAME"))
            }
            guard let address = tokens.target(of: token) else {
                return .failure(
                    HTTPError(status: .forbidden, code: "unknown_token", message: "no target for token \(token)")
                )
            }
            return .success(Target(route: path, address: address, text: false))
        }
        if path == Self.allowListPath, !allowList.isEmpty {
            guard let host = target.parameter("host"), !host.isEmpty, let portText = target.parameter("port"),
                let port = Int(portText), (1...65535).contains(port)
            else {
                return .failure(.badRequest("invalid_target", "/tcp needs ?host=HOST&port=PORT"))
            }
            let address = BridgeAddress(host: host, port: port)
            guard allowList.allows(address) else {
                return .failure(
                    HTTPError(
                        status: .forbidden,
                        code: "target_not_allowed",
                        message: "\(address) is not in bridge.allow"
                    )
                )
            }
            return .success(Target(route: path, address: address, text: false))
        }
        return .failure(.notFound)
    }

    /// Counts a new connection from `client` on `target`'s route, unless a limit is reached.
    func admit(_ target: Target, client: String) -> HTTPError? {
        guard let counters = counters(of: target.route) else { return .notFound }
        let limitReached = perAddress.withLock { counts -> Bool in
            guard counts[client, default: 0] < configuration.maxConnectionsPerAddress,
                counters.open.load(ordering: .relaxed) < configuration.maxConnectionsPerRoute
            else { return true }
            counts[client, default: 0] += 1
            counters.open.wrappingIncrement(ordering: .relaxed)
            return false
        }
        guard !limitReached else {
            counters.refused.wrappingIncrement(ordering: .relaxed)
            return HTTPError(
                status: .serviceUnavailable,
                code: "limit_reached",
                message: "too many bridged connections (bridge.max_connections_per_route, _per_address)"
            )
        }
        counters.total.wrappingIncrement(ordering: .relaxed)
        return nil
    }

    /// A connection admitted by ``admit(_:client:)`` ended.
    func release(_ target: Target, client: String) {
        counters(of: target.route)?.open.wrappingDecrement(ordering: .relaxed)
        perAddress.withLock { counts in
            counts[client, default: 1] -= 1
            if counts[client] == 0 { counts[client] = nil }
        }
    }
}
