import Atomics
package import NIOHTTP1
package import SwitchboardCore
package import SwitchboardHTTP

extension BridgeService: HTTPFrontEnd {
    /// The bridge's routes are exact paths (`/websockify`, `/tcp`, named routes), asked before every other
    /// route. Its Origins are its own business: a route may name its own (``answer(_:path:client:service:)``).
    package func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>? {
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

    /// The bridge's part of `/stats`: per route, open and total connections, bytes each way, refusals
    /// (before any TCP connection: not allowed, unknown token, limits) and failed connects.
    package func writeStatistics(into json: inout JSONWriter) {
        json.beginObject("bridge")
        for (route, counters) in counters {
            json.beginObject(route)
            json.integer("open", counters.open.load(ordering: .relaxed))
            json.integer("total", counters.total.load(ordering: .relaxed))
            json.integer("bytes_to_target", counters.bytesToTarget.load(ordering: .relaxed))
            json.integer("bytes_from_target", counters.bytesFromTarget.load(ordering: .relaxed))
            json.integer("refused", counters.refused.load(ordering: .relaxed))
            json.integer("failed", counters.failed.load(ordering: .relaxed))
            json.endObject()
        }
        json.endObject()
    }
}
