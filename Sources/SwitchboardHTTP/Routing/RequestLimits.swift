import NIOHTTP1

extension HTTPConfiguration {
    /// Why a request is refused from its head alone, before a body is read: a request target over
    /// `max_request_line` (RFC 9112 §3: `414`), a header section over `max_header_size` (`431`), a
    /// declared body over `max_message_size` (`413`). Nil when none applies.
    func refusal(of head: HTTPRequestHead) -> HTTPError? {
        if head.uri.utf8.count > maxRequestLine {
            return HTTPError(
                status: .uriTooLong,
                code: "uri_too_long",
                message: "the request target is over \(maxRequestLine) bytes"
            )
        }
        let headerBytes = head.headers.reduce(0) { $0 + $1.name.utf8.count + $1.value.utf8.count + 4 }
        if headerBytes > maxHeaderSize { return Self.headersTooLarge(maxHeaderSize) }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxMessageSize {
            return .payloadTooLarge(limit: maxMessageSize)
        }
        return nil
    }

    static func headersTooLarge(_ limit: Int) -> HTTPError {
        HTTPError(
            status: .requestHeaderFieldsTooLarge,
            code: "headers_too_large",
            message: "the header section is over \(limit) bytes"
        )
    }
}
