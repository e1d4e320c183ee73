package import NIOCore
package import NIOHTTP1

/// A complete HTTP request as ``HTTPHandler`` read it: the head, the parsed target, and the body (POST
/// only, bounded by `max_message_size`).
package struct HTTPRequest {
    package var head: HTTPRequestHead
    package var target: RequestTarget
    package var body: ByteBuffer?
}
