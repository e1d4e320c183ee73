import NIOHTTP1
import SwitchboardCore

extension BridgeService: HTTPFrontEnd {
    /// The bridge's routes are exact paths (`/websockify`, `/tcp`, named routes), asked before every other
    /// route. Its Origins are its own business: a route may name its own (``answer(_:path:client:service:)``).
    func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>? {
        guard !paths.isEmpty else { return nil }
        let routePath = String(path.full)
        guard paths.contains(routePath) else { return nil }
        // A WebSocket handshake is a GET; HEAD is not one.
        guard method == .GET else { return .failure(.methodNotAllowed(allowed: [.GET])) }
        return .success(
            FrontEndRoute(exposure: .twoWay, originCheck: .byFrontEnd) { request in
                self.answer(request.http, path: routePath, client: request.client.address, service: request.service)
            }
        )
    }

    func writeStatistics(into json: inout JSONWriter) {
        Endpoints.writeBridgeStatistics(self, into: &json)
    }
}
