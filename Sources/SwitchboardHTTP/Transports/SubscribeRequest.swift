import NIOHTTP1
import SwitchboardCore

/// The transports a subscriber can use on `GET /sub/...`.
enum SubscriberTransport: String, Equatable {
    case webSocket = "websocket"
    case sse
    case stream
    case longPoll = "longpoll"
}

/// A parsed subscription request: which channels, from which positions, over which transport.
struct SubscribeRequest: Equatable {
    var channels: [ChannelName]
    /// One position per channel (or `nil` for "from now"), in channel order.
    var positions: [StreamPosition?]
    var transport: SubscriberTransport
    /// The subprotocol a WebSocket subscriber chose (`ws+meta.switchboard` for in-band metadata).
    var webSocketMetadata = false
    /// Who subscribes, for the policy (a WebSocket subscriber may publish by sending frames).
    var principal = Principal.anonymous
    /// Whether the page that opened it (its `Origin`) may publish: `/sub` takes `security.subscribe_origins`
    /// (any by default), but a frame sent to publish is a write, which needs the main Origin policy.
    var originMayPublish = true

    static let metadataSubprotocol = "ws+meta.switchboard"

    /// Picks the transport like nchan does and parses the resume position
    /// (`?last_event_id=` wins over the `Last-Event-ID` header).
    static func parse(
        channels: [ChannelName],
        head: HTTPRequestHead,
        target: RequestTarget
    ) -> Result<SubscribeRequest, HTTPError> {
        let transport: SubscriberTransport
        if let forced = target.parameter("transport") {
            guard let parsed = SubscriberTransport(rawValue: forced.lowercased()) ?? (forced == "ws" ? .webSocket : nil)
            else {
                return .failure(
                    .badRequest("invalid_transport", "transport must be websocket, sse, stream or longpoll")
                )
            }
            transport = parsed
        } else if head.headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }) {
            transport = .webSocket
        } else if head.headers[canonicalForm: "accept"].contains(where: {
            $0.lowercased().contains("text/event-stream")
        }) {
            transport = .sse
        } else {
            transport = .longPoll
        }
        let idText = target.parameter("last_event_id") ?? head.headers.first(name: "last-event-id")
        var positions = [StreamPosition?](repeating: nil, count: channels.count)
        if let idText, !idText.isEmpty {
            guard let parsed = parsePositions(idText, count: channels.count) else {
                return .failure(
                    .badRequest(
                        "invalid_position",
                        "Last-Event-ID must be EPOCH:OFFSET per channel, comma-separated in subscription order"
                    )
                )
            }
            positions = parsed
        }
        let protocols = head.headers[canonicalForm: "sec-websocket-protocol"].map { $0.lowercased() }
        return .success(
            SubscribeRequest(
                channels: channels,
                positions: positions,
                transport: transport,
                webSocketMetadata: protocols.contains(metadataSubprotocol)
            )
        )
    }

    static func parsePositions(_ text: String, count: Int) -> [StreamPosition?]? {
        let parts = text.split(separator: ",", omittingEmptySubsequences: false)
        guard parts.count == count else { return nil }
        var result: [StreamPosition?] = []
        for part in parts {
            let trimmed = part.trimmingSpaces
            if trimmed.isEmpty {
                result.append(nil)
            } else if let position = StreamPosition(parsing: trimmed) {
                result.append(position)
            } else {
                return nil
            }
        }
        return result
    }
}
