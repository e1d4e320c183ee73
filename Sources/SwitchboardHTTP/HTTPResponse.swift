package import NIOCore
package import NIOHTTP1
package import SwitchboardCore

/// A complete (non-streaming) HTTP answer.
package struct HTTPResponse {
    package var status: HTTPResponseStatus
    package var headers: HTTPHeaders
    package var body: ByteBuffer

    package init(status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:], body: ByteBuffer = ByteBuffer()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer (the body is expected to be a JSON document).
    package static func json(_ status: HTTPResponseStatus = .ok, _ writer: JSONWriter) -> HTTPResponse {
        var body = writer.buffer
        body.writeStaticString("\n")
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    package static func error(_ error: HTTPError, allocator: ByteBufferAllocator) -> HTTPResponse {
        var headers: HTTPHeaders = ["Content-Type": "application/json"]
        for (name, value) in error.extraHeaders { headers.add(name: name, value: value) }
        return HTTPResponse(status: error.status, headers: headers, body: error.body(allocator: allocator))
    }
}
