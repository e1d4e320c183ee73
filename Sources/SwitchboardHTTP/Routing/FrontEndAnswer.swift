import NIOCore
import NIOHTTP1

/// What a front end does with a request it claims; ``HTTPHandler`` carries it out without knowing the
/// protocol (the seam every front end answers through: Engine.IO in ``EngineIOServer``, the bridge in
/// ``BridgeService``, the native SSE fallback in ``NativeChannelHandler``).
enum FrontEndAnswer {
    /// An answer now.
    case respond(HTTPResponse)
    /// An answer later (a long-poll, a back-end call).
    case await(EventLoopFuture<HTTPResponse>)
    /// A WebSocket; a connection opened with a token that expires (milliseconds) is told so then.
    case upgrade(WebSocketUpgrade, expiresAt: Int64? = nil)
    /// A streamed response: the head with these headers, then the connection belongs to `handler`
    /// (chunked output of its own).
    case stream(HTTPHeaders, any ChannelHandler)
}
