package import NIOHTTP1
package import SwitchboardCore
package import SwitchboardHTTP

/// The STOMP broker's HTTP surface: STOMP over WebSocket at `/stomp` (when `stomp.websocket` is on),
/// `GET /api/queues`, and the `stomp` object of `/stats`. (STOMP over TCP is the broker's own listener.)
package struct STOMPFrontEnd: HTTPFrontEnd {
    package let stomp: STOMPService

    package init(stomp: STOMPService) {
        self.stomp = stomp
    }

    package func claim(_ method: HTTPMethod, _ path: RoutePath) -> Result<FrontEndRoute, HTTPError>? {
        switch (path.first, path.rest) {
        case ("stomp", nil) where stomp.configuration.webSocket:
            return claimed(method, [.GET]) {
                FrontEndRoute(exposure: .twoWay) { request in
                    .upgrade(
                        STOMPWebSocket.upgrade(
                            service: request.service,
                            stomp: stomp,
                            offered: request.http.head.headers
                        )
                    )
                }
            }
        case ("api", "queues"):
            return claimed(method, [.GET]) {
                FrontEndRoute(exposure: .privileged) { request in request.respond { $0.apiQueues(stomp) } }
            }
        default:
            return nil
        }
    }

    package func writeStatistics(into json: inout JSONWriter) {
        Endpoints.writeSTOMPStatistics(stomp, into: &json)
    }
}
