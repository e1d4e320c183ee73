package import NIOCore
package import NIOHTTP1
package import SwitchboardCore

/// What a front end (or the core's `/sub`) does with a request it claims; ``HTTPHandler`` carries it out
/// without knowing the protocol (``HTTPFrontEnd``).
package enum FrontEndAnswer {
    /// An answer now.
    case respond(HTTPResponse)
    /// An answer later (a back-end call, an Engine.IO poll).
    case await(EventLoopFuture<HTTPResponse>)
    /// A WebSocket; a connection opened with a token that expires (milliseconds) is told so then.
    case upgrade(WebSocketUpgrade, expiresAt: Int64? = nil)
    /// A streamed response: the head with these headers, then the connection belongs to `handler`
    /// (chunked output of its own); ended like a WebSocket when its token expires.
    case stream(HTTPHeaders, any ChannelHandler, expiresAt: Int64? = nil)
    /// A `/sub` long poll: answered at once when a message is already there, else when one comes or the
    /// poll times out; cancelled when the client leaves.
    case longPoll(LongPollSubscriber, positions: [StreamPosition?])
    /// The answer once something is ready (a channel another node holds, being mirrored): `start` is called
    /// at once, on the connection's loop, and calls its argument there with the answer, once.
    case deferred((_ answer: @escaping (FrontEndAnswer) -> Void) -> Void)
}
