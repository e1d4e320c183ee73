import NIOCore
import NIOHTTP1

/// A complete HTTP request as ``HTTPHandler`` read it: the head, the parsed target, and the body (POST
/// only, bounded by `max_message_size`).
struct HTTPRequest {
    var head: HTTPRequestHead
    var target: RequestTarget
    var body: ByteBuffer?
}
