public import NIOCore
public import NIOHTTP1
import NIOPosix
import NIOSSL
public import SwitchboardCore

/// The one HTTP/1.1 client, over TCP or TLS, one request per connection. The server uses it as its
/// ``BackendCaller`` and to fetch an identity provider's JWK Set (``request(_:_:body:timeout:on:)``: from
/// the caller's own event loop, the answer collected up to 1 MiB, a deadline for the whole exchange); the
/// CLI's `publish` and `subscribe` use ``send(_:_:path:headers:body:onHead:onBody:)``, which hands the body
/// over chunk by chunk as it arrives (an SSE stream is read live). `https://` URLs are checked against the
/// system's trust roots (and the configured ones) and the URL's host name.
public struct HTTPClient: BackendCaller {
    static let maxResponseSize = 1 << 20

    /// TLS for `https://` URLs; nil when none could be set up (then such URLs fail).
    let tls: NIOSSLContext?

    /// A client trusting the system's roots, plus the certificates in `extraTrustFile` (PEM) when given.
    /// `usesTLS: false` makes a client for `http://` URLs only, which needs no trust store (a minimal
    /// container may have none).
    public init(extraTrustFile: String? = nil, usesTLS: Bool = true) throws {
        guard usesTLS else {
            self.tls = nil
            return
        }
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let extraTrustFile {
            configuration.additionalTrustRoots = [.file(extraTrustFile)]
        }
        configuration.applicationProtocols = ["http/1.1"]
        self.tls = try NIOSSLContext(configuration: configuration)
    }

    public func post(
        _ url: HTTPURL,
        body: ByteBuffer,
        timeout: TimeAmount,
        on eventLoop: any EventLoop
    )
        -> EventLoopFuture<BackendResponse>
    {
        request(.POST, url, body: body, timeout: timeout, on: eventLoop)
    }

    /// One request to `url` + `path`, from the CLI: `onHead` sees the response head, `onBody` each body
    /// chunk as it arrives (return `false` to stop reading). No deadline: an SSE stream lasts.
    public func send(
        _ method: HTTPMethod,
        _ url: HTTPURL,
        path: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        onHead: (HTTPResponseHead) throws -> Void,
        onBody: (ByteBuffer) throws -> Bool
    ) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: url.host, port: url.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.addHandlers(for: url, to: channel)
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            let head = Self.head(method, url, path: path, headers: headers, bodyLength: body?.readableBytes)
            try await outbound.write(.head(head))
            if let body { try await outbound.write(.body(.byteBuffer(body))) }
            try await outbound.write(.end(nil))
            for try await part in inbound {
                switch part {
                case .head(let responseHead): try onHead(responseHead)
                case .body(let chunk): if try !onBody(chunk) { return }
                case .end: return
                }
            }
        }
    }

    /// TLS when the URL asks for it, then the HTTP/1.1 codec.
    private func addHandlers(for url: HTTPURL, to channel: any Channel) throws {
        if url.usesTLS {
            guard let tls else { throw BackendError.connectionFailed("TLS is not available for \(url)") }
            // The certificate must be the host's: verified against url.host, or against the address
            // connected to when the host is an IP address (which SNI may not carry).
            let isAddress = url.host.contains(":") || url.host.allSatisfy { $0.isNumber || $0 == "." }
            let handler = try NIOSSLClientHandler(context: tls, serverHostname: isAddress ? nil : url.host)
            try channel.pipeline.syncOperations.addHandler(handler)
        }
        try channel.pipeline.syncOperations.addHTTPClientHandlers()
    }

    /// The request head: the URL's path and `path`, `Host`, `Connection: close`, the length of a body.
    private static func head(
        _ method: HTTPMethod,
        _ url: HTTPURL,
        path: String,
        headers: [(String, String)],
        bodyLength: Int?
    ) -> HTTPRequestHead {
        let uri = url.pathPrefix + path
        var head = HTTPRequestHead(version: .http1_1, method: method, uri: uri.isEmpty ? "/" : uri)
        head.headers.add(name: "Host", value: "\(url.host):\(url.port)")
        head.headers.add(name: "Connection", value: "close")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        if let bodyLength { head.headers.add(name: "Content-Length", value: String(bodyLength)) }
        return head
    }

    /// One request; fails on a connection or TLS error, an answer over 1 MiB, or after `timeout`.
    func request(
        _ method: HTTPMethod,
        _ url: HTTPURL,
        body: ByteBuffer? = nil,
        timeout: TimeAmount,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<BackendResponse> {
        let promise = eventLoop.makePromise(of: BackendResponse.self)
        let deadline = eventLoop.scheduleTask(in: timeout) { promise.fail(BackendError.timeout) }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        if url.usesTLS && tls == nil {
            promise.fail(BackendError.connectionFailed("TLS is not available for \(url)"))
            return promise.futureResult
        }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try self.addHandlers(for: url, to: channel)
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
            .connect(host: url.host, port: url.port)
            .whenComplete { result in
                switch result {
                case .failure(let error):
                    promise.fail(BackendError.connectionFailed("\(error)"))
                case .success(let channel):
                    promise.futureResult.whenComplete { _ in channel.close(promise: nil) }
                    let head = Self.head(
                        method,
                        url,
                        path: "",
                        headers: body == nil ? [] : [("Content-Type", "application/json")],
                        bodyLength: body?.readableBytes
                    )
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                }
            }
        return promise.futureResult
    }

    /// Collects one response and completes the promise with it.
    private final class ResponseCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart

        let promise: EventLoopPromise<BackendResponse>
        private var status = 0
        private var body = ByteBuffer()

        init(promise: EventLoopPromise<BackendResponse>) {
            self.promise = promise
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head):
                status = Int(head.status.code)
            case .body(var chunk):
                guard body.readableBytes + chunk.readableBytes <= HTTPClient.maxResponseSize else {
                    promise.fail(BackendError.responseTooLarge)
                    context.close(promise: nil)
                    return
                }
                body.writeBuffer(&chunk)
            case .end:
                promise.succeed(BackendResponse(status: status, body: body))
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(BackendError.connectionFailed("the back end closed the connection before answering"))
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(BackendError.connectionFailed("\(error)"))
            context.close(promise: nil)
        }
    }
}
