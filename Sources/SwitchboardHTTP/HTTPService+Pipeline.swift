public import NIOCore
import NIOHTTP1
public import SwitchboardCore

extension HTTPService {
    /// Installs the HTTP front end on a newly accepted connection. Call on the channel's event loop.
    ///
    /// ```
    /// bytes ─▶ ReadWhileWritableHandler ─▶ HTTPReadTimeoutHandler ─▶ HTTPRequestDecoder ─▶ HTTPResponseEncoder ─▶ HTTPServerPipelineHandler ─▶ HTTPHandler
    /// ```
    /// The decoder's header limit bounds memory before ``HTTPHandler`` applies the configured limits
    /// (414 / 431) precisely; the timeout handler bounds how long a request may take to arrive. `slot` is
    /// the connection's place in the connection limits (a trusted proxy's is moved to the forwarded client).
    /// Nothing is read while the connection cannot take more output: answers never pile up unread.
    public func installHandlers(on channel: any Channel, slot: ConnectionLimiter.Slot? = nil) throws {
        connectionOpened(channel)
        var limits = NIOHTTPDecoderLimitConfiguration()
        limits.maxHeaderListSize = configuration.maxHeaderSize + configuration.maxRequestLine
        limits.maxHeaderFieldSize = configuration.maxHeaderSize + configuration.maxRequestLine
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(ReadWhileWritableHandler())
        try pipeline.addHandler(
            HTTPReadTimeoutHandler(
                headerTimeout: .milliseconds(Int64(configuration.headerTimeout * 1000)),
                idleTimeout: .milliseconds(Int64(configuration.idleTimeout * 1000))
            )
        )
        try pipeline.addHandler(
            ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes, limitConfiguration: limits))
        )
        try pipeline.addHandler(HTTPResponseEncoder())
        try pipeline.addHandler(HTTPServerPipelineHandler())
        try pipeline.addHandler(HTTPHandler(service: self, slot: slot))
    }

    /// Whether `peer` (an address) is a trusted proxy, whose connections are counted against the clients
    /// it forwards for.
    public func isTrustedProxy(_ peer: String?) -> Bool {
        guard let peer, let address = IPAddress(peer) else { return false }
        return security.trustedProxies.contains { $0.contains(address) }
    }

    /// The answer to a connection refused by the connection limits: `503` with `Retry-After`, raw bytes.
    public static func refusal(_ message: String, allocator: ByteBufferAllocator) -> ByteBuffer {
        var body = HTTPError.tooManyConnections(message).body(allocator: allocator)
        var answer = allocator.buffer(capacity: 160 + body.readableBytes)
        answer.writeString(
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 1\r\nContent-Type: application/json\r\n"
                + "Content-Length: \(body.readableBytes)\r\nConnection: close\r\n\r\n"
        )
        answer.writeBuffer(&body)
        return answer
    }
}
