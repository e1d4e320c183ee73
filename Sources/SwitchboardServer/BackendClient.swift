import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import SwitchboardHTTP

/// ``BackendCaller`` on NIOPosix, and the server's own HTTP(S) client (an identity provider's JWK Set): a
/// connection per request from the caller's own event loop, TLS for `https://` URLs (the system's trust
/// roots, or the configured ones), the answer collected up to 1 MiB, a deadline for the whole exchange.
struct BackendClient: BackendCaller {
    static let maxResponseSize = 1 << 20

    /// TLS for `https://` URLs; nil when none could be set up (then such URLs fail).
    let tls: NIOSSLContext?

    /// A client trusting the system's roots, plus the certificates in `extraTrustFile` (PEM) when given.
    init(extraTrustFile: String? = nil) throws {
        var configuration = TLSConfiguration.makeClientConfiguration()
        if let extraTrustFile {
            configuration.additionalTrustRoots = [.file(extraTrustFile)]
        }
        configuration.applicationProtocols = ["http/1.1"]
        self.tls = try NIOSSLContext(configuration: configuration)
    }

    func post(
        _ url: HTTPURL,
        body: ByteBuffer,
        timeout: TimeAmount,
        on eventLoop: any EventLoop
    )
        -> EventLoopFuture<BackendResponse>
    {
        request(.POST, url, body: body, timeout: timeout, on: eventLoop)
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
        let tls = url.usesTLS ? self.tls : nil
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        // The certificate must be the host's (hostname verification against url.host).
                        let handler = try NIOSSLClientHandler(context: tls, serverHostname: url.host)
                        try channel.pipeline.syncOperations.addHandler(handler)
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
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
                    var head = HTTPRequestHead(
                        version: .http1_1,
                        method: method,
                        uri: url.pathPrefix.isEmpty ? "/" : url.pathPrefix
                    )
                    head.headers.add(name: "Host", value: "\(url.host):\(url.port)")
                    head.headers.add(name: "Connection", value: "close")
                    if let body {
                        head.headers.add(name: "Content-Type", value: "application/json")
                        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
                    }
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
                guard body.readableBytes + chunk.readableBytes <= BackendClient.maxResponseSize else {
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
