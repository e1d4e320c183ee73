package import NIOCore
import NIOHTTP1
import SwitchboardCore
package import SwitchboardWebSocket

/// A front end's claim on a WebSocket handshake, shaped like NIO's `shouldUpgrade` /
/// `upgradePipelineHandler`: the subprotocol it answers with, and the handlers it puts in the pipeline
/// once the `101` is out. ``HTTPHandler`` answers the handshake and swaps the HTTP handlers for these
/// without knowing which front end it serves; each front end builds its own (`/sub` in
/// ``WebSocketSubscriber``, STOMP in ``STOMPWebSocket``, the native protocol in ``NativeChannelHandler``,
/// Engine.IO in ``EngineIOServer``, the bridge in ``BridgeSession``).
package struct WebSocketUpgrade {
    /// The `Sec-WebSocket-Protocol` to answer with, if any.
    package var subprotocol: String?
    /// The handlers, in pipeline order (the shared ``WebSocketConnectionHandler`` first, then any protocol
    /// handler behind it). Called on the channel's loop after the `101` was written.
    package var makeHandlers: (any Channel) throws -> [any ChannelHandler]
    /// The client left before the handshake's answer, or the handlers could not be installed: anything
    /// reserved for the connection (a bridge admission) is given back.
    package var abandoned: () -> Void = {}

    package init(
        subprotocol: String?,
        abandoned: @escaping () -> Void = {},
        makeHandlers: @escaping (any Channel) throws -> [any ChannelHandler]
    ) {
        self.subprotocol = subprotocol
        self.abandoned = abandoned
        self.makeHandlers = makeHandlers
    }

    /// The one handler with `sink` behind it; `pings`: whether the peer is pinged every
    /// `channels.ping_interval` (protocols with a heartbeat of their own say no).
    package static func sink(
        _ sink: (any WebSocketMessageSink)?,
        service: HTTPService,
        pings: Bool,
        on channel: any Channel
    ) -> WebSocketConnectionHandler {
        WebSocketConnectionHandler(
            configuration: service.webSocketConfiguration,
            keepAlive: pings ? service.keepAliveTimer(on: channel.eventLoop) : nil,
            sink: sink
        )
    }

    /// `/echo` (`testing.websocket_echo`): the conformance suite's endpoint.
    package static func echo(service: HTTPService) -> WebSocketUpgrade {
        WebSocketUpgrade(subprotocol: nil) { channel in
            [sink(WebSocketEchoSink(), service: service, pings: true, on: channel)]
        }
    }
}

extension HTTPService {
    /// What every WebSocket connection of this server is allowed, and how it ends.
    package var webSocketConfiguration: WebSocketConnectionHandler.Configuration {
        WebSocketConnectionHandler.Configuration(
            maxMessageSize: configuration.maxMessageSize,
            goodbyeTimeout: HTTPService.goodbyeTimeout
        )
    }
}

extension HTTPError {
    /// The answer to an upgrade request that is not a valid WebSocket handshake.
    package init(_ refusal: WebSocketHandshake.Refusal) {
        switch refusal {
        case .notAnUpgrade:
            self.init(
                status: .upgradeRequired,
                code: "websocket_required",
                message: "this endpoint needs a WebSocket upgrade",
                extraHeaders: [("Upgrade", "websocket")]
            )
        case .unsupportedVersion:
            self.init(
                status: .upgradeRequired,
                code: "websocket_version",
                message: "only WebSocket version 13 is supported",
                extraHeaders: [("Sec-WebSocket-Version", "13")]
            )
        case .invalidKey:
            self = .badRequest("websocket_key", "missing or invalid Sec-WebSocket-Key")
        }
    }
}
