package import NIOHTTP1
package import SwitchboardCore
package import SwitchboardHTTP

/// Socket.IO's HTTP surface: Engine.IO at `/socket.io/` (every method reaches it: it answers bad ones as
/// the reference server does), the conformance configuration's Engine.IO echo at `/engine.io/`, and the
/// back end's API (`POST /api/socketio/emit`, `GET /api/socketio/sockets`).
package struct SocketIOFrontEnd: HTTPFrontEnd {
    /// Nil when `socketio.enabled` is off.
    let socketIO: EngineIOServer?
    /// Nil unless `socketio.conformance` is on.
    let echo: EngineIOServer?

    /// Nil when neither Socket.IO nor the conformance echo is on. Registers the event encoders, one per
    /// namespace, in `registry` (before the hub is built with it).
    package init?(_ configuration: SocketIOConfiguration, registry: inout WireFormatRegistry) {
        guard configuration.enabled || configuration.conformance else { return nil }
        let engine = EngineIOConfiguration(configuration)
        var formats: [String: WireFormat] = [:]
        for namespace in Set(configuration.namespaces + ["/"]).sorted() {
            let encoder = SocketIOEventEncoder(namespace: namespace, includesOffset: configuration.recoveryWindow > 0)
            formats[namespace] = registry.register(encoder)
        }
        socketIO =
            configuration.enabled
            ? EngineIOServer(application: .socketIO, configuration: engine, eventFormats: formats) : nil
        echo = configuration.conformance ? EngineIOServer(application: .echo, configuration: engine) : nil
    }

    package func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>? {
        switch (path.first, path.rest) {
        case ("socket.io", nil), ("socket.io", ""):
            return socketIO.map { .success(Self.engineIO($0)) }
        case ("engine.io", nil), ("engine.io", ""):
            return echo.map { .success(Self.engineIO($0)) }
        case ("api", "socketio/emit"):
            guard let server = socketIO else { return nil }
            return claimed(method, [.POST]) {
                FrontEndRoute(exposure: .privileged) { request in
                    request.await { try $0.apiSocketIOEmit(request.http, server: server, on: request.eventLoop) }
                }
            }
        case ("api", "socketio/sockets"):
            guard let server = socketIO else { return nil }
            return claimed(method, [.GET]) {
                FrontEndRoute(exposure: .privileged) { request in
                    request.await { try $0.apiSocketIOSockets(request.http, server: server, on: request.eventLoop) }
                }
            }
        default:
            return nil
        }
    }

    /// Engine.IO's polling sessions are not channels: their waiting polls get the close packet.
    package func serverShuttingDown() {
        socketIO?.shutdown()
        echo?.shutdown()
    }

    /// A refused Origin gets the reference server's refusal (its `allowRequest`): `403 {"code": 4, ...}`.
    private static func engineIO(_ server: EngineIOServer) -> FrontEndRoute {
        FrontEndRoute(exposure: .twoWay, originCheck: .refusedWith { EngineIOServer.errorResponse(.forbidden) }) {
            request in
            server.answer(request.http, service: request.service, on: request.eventLoop)
        }
    }
}
