package import NIOCore
package import NIOHTTP1
package import SwitchboardCore

/// An error answered to an HTTP client: a status and a JSON body `{"error": ..., "code": ...}`.
package struct HTTPError: Error, Equatable {
    package var status: HTTPResponseStatus
    package var code: String
    package var message: String
    package var extraHeaders: [(String, String)] = []

    package init(
        status: HTTPResponseStatus,
        code: String,
        message: String,
        extraHeaders: [(String, String)] = []
    ) {
        self.status = status
        self.code = code
        self.message = message
        self.extraHeaders = extraHeaders
    }

    package static func == (lhs: HTTPError, rhs: HTTPError) -> Bool {
        lhs.status == rhs.status && lhs.code == rhs.code && lhs.message == rhs.message
    }

    package static func badRequest(_ code: String, _ message: String) -> HTTPError {
        HTTPError(status: .badRequest, code: code, message: message)
    }
    package static let notFound = HTTPError(status: .notFound, code: "not_found", message: "no such endpoint")
    package static func methodNotAllowed(allowed: [HTTPMethod]) -> HTTPError {
        HTTPError(
            status: .methodNotAllowed,
            code: "method_not_allowed",
            message: "allowed methods: \(allowed.map(\.rawValue).joined(separator: ", "))",
            extraHeaders: [("Allow", allowed.map(\.rawValue).joined(separator: ", "))]
        )
    }
    package static func payloadTooLarge(limit: Int) -> HTTPError {
        HTTPError(
            status: .payloadTooLarge,
            code: "payload_too_large",
            message: "the body is over the limit of \(limit) bytes"
        )
    }
    package static let hostNotAllowed = HTTPError(
        status: .misdirectedRequest,
        code: "host_not_allowed",
        message: "this server does not answer for that Host (security.hosts)"
    )
    package static func originNotAllowed(_ origin: String) -> HTTPError {
        HTTPError(
            status: .forbidden,
            code: "origin_not_allowed",
            message: "pages from \(origin.prefix(100)) may not use this endpoint (security.origins)"
        )
    }
    /// The server is draining: `503`, to be tried again (elsewhere) in a second.
    package static let shuttingDown = HTTPError(
        status: .serviceUnavailable,
        code: "shutting_down",
        message: "the server is shutting down",
        extraHeaders: [("Retry-After", "1")]
    )
    /// The connection limits refused the client: `503`, to be tried again in a second.
    package static func tooManyConnections(_ message: String) -> HTTPError {
        HTTPError(
            status: .serviceUnavailable,
            code: "too_many_connections",
            message: message,
            extraHeaders: [("Retry-After", "1")]
        )
    }
    package static let forbidden = HTTPError(
        status: .forbidden,
        code: "forbidden",
        message: "publishing and the API need a loopback client or Authorization: Bearer <api key>"
    )

    package func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        var json = JSONWriter(allocator: allocator)
        json.beginObject()
        json.string("error", message)
        json.string("code", code)
        json.endObject()
        var buffer = json.buffer
        buffer.writeStaticString("\n")
        return buffer
    }
}

extension HTTPError {
    /// A server-wide limit refused a publish or subscription: `507 Insufficient Storage`; or the shared
    /// engine is unreachable: `503 Service Unavailable` (nothing was stored: retrying is safe).
    package init(_ refusal: HubRefusal) {
        if case .engineUnavailable = refusal {
            self.init(status: .serviceUnavailable, code: refusal.code, message: refusal.message)
        } else {
            self.init(status: .insufficientStorage, code: refusal.code, message: refusal.message)
        }
    }
}
