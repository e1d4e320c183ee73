package import NIOHTTP1
package import SwitchboardCore
package import SwitchboardHTTP

/// The native protocol's HTTP surface: its WebSocket (`/connection/websocket`), its fallbacks (the SSE
/// stream, `POST /connection/send`, the long-poll), and the back end's API for its users and pages
/// (`/api/send`, `/api/disconnect`, `/api/call`, `/api/presence/{channel}`) — and the state its
/// connections share.
package final class NativeFrontEnd: HTTPFrontEnd {
    let maxChannelNameLength: Int
    /// The connections by user and client id (`/api/send`, `/api/disconnect`, `/api/call`).
    let users = UserRegistry()
    /// The connections on the fallbacks (SSE, long-poll), by session id, for `POST /connection/send` and
    /// `GET /connection/poll`.
    let sessions = NativeSessionRegistry()

    /// The hub's push formats, by framing.
    private let webSocketFormat: WireFormat
    private let sseFormat: WireFormat
    private let longPollFormat: WireFormat

    /// Registers the push encoders in `registry` (before the hub is built with it).
    package init(configuration: HTTPConfiguration, registry: inout WireFormatRegistry) {
        maxChannelNameLength = configuration.maxChannelNameLength
        webSocketFormat = registry.register(NativePushEncoder(framing: .webSocket))
        sseFormat = registry.register(NativePushEncoder(framing: .sse))
        longPollFormat = registry.register(NativePushEncoder(framing: .longPoll))
    }

    /// The hub format of pushes for `framing`.
    func pushFormat(_ framing: NativeFraming) -> WireFormat {
        switch framing {
        case .webSocket: webSocketFormat
        case .sse: sseFormat
        case .longPoll: longPollFormat
        }
    }

    /// The long-poll sessions are not channels (the connection registry does not reach them): their
    /// waiting polls answer with the goodbye.
    package func serverShuttingDown() {
        sessions.shutdown()
    }

    package func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>? {
        if path.first == "connection", let rest = path.rest { return connection(method, rest) }
        guard let (name, argument) = path.apiEndpoint else { return nil }
        switch (name, argument) {
        case ("send", nil):
            return claimed(method, [.POST]) {
                FrontEndRoute(exposure: .privileged) { request in
                    request.await { try $0.apiSend(request.http, on: request.eventLoop) }
                }
            }
        case ("disconnect", nil):
            return claimed(method, [.POST]) {
                FrontEndRoute(exposure: .privileged) { request in
                    request.respond { try $0.apiDisconnect(request.http, native: self) }
                }
            }
        case ("call", nil):
            return claimed(method, [.POST]) {
                FrontEndRoute(exposure: .privileged) { request in
                    request.await { try $0.startCall(request.http, native: self, on: request.eventLoop) }
                }
            }
        case ("presence", let channel?):
            return claimed(method, [.GET]) { () throws(HTTPError) -> FrontEndRoute in
                let channel = try Router.channelName(channel, maxLength: maxChannelNameLength)
                return FrontEndRoute(exposure: .privileged) { request in
                    request.respond { try $0.apiPresence(channel) }
                }
            }
        default:
            return nil
        }
    }

    /// The native protocol's own endpoints: any client may open them (the Origin policy applies).
    private func connection(_ method: HTTPMethod, _ endpoint: Substring) -> Result<FrontEndRoute, HTTPError>? {
        switch endpoint {
        case "websocket":
            return claimed(method, [.GET]) {
                FrontEndRoute(exposure: .twoWay) { request in
                    .upgrade(NativeChannelHandler.webSocketUpgrade(service: request.service, native: self))
                }
            }
        case "sse":
            return claimed(method, [.GET]) {
                FrontEndRoute(exposure: .twoWay) { request in
                    NativeChannelHandler.sseAnswer(service: request.service, native: self)
                }
            }
        case "send":
            return claimed(method, [.POST]) {
                FrontEndRoute(exposure: .twoWay) { request in
                    request.respond { try $0.nativeSend(request.http, native: self) }
                }
            }
        case "poll":
            return claimed(method, [.GET]) {
                FrontEndRoute(exposure: .twoWay) { request in
                    request.await { try $0.nativePoll(request.http, native: self, on: request.eventLoop) }
                }
            }
        default:
            return nil
        }
    }
}
