import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchboardHTTP

/// ``BackendCaller`` on NIOPosix: a connection per request from the caller's own event loop, the answer
/// collected up to 1 MiB, a deadline for the whole exchange.
struct BackendClient: BackendCaller {
    static let maxResponseSize = 1 << 20

    func post(
        _ url: HTTPURL,
        body: ByteBuffer,
        timeout: TimeAmount,
        on eventLoop: any EventLoop
    )
        -> EventLoopFuture<BackendResponse>
    {
        let promise = eventLoop.makePromise(of: BackendResponse.self)
        let deadline = eventLoop.scheduleTask(in: timeout) { promise.fail(BackendError.timeout) }
        promise.futureResult.whenComplete { _ in deadline.cancel() }
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
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
                        method: .POST,
                        uri: url.pathPrefix.isEmpty ? "/" : url.pathPrefix
                    )
                    head.headers.add(name: "Host", value: "\(url.host):\(url.port)")
                    head.headers.add(name: "Content-Type", value: "application/json")
                    head.headers.add(name: "Content-Length", value: String(body.readableBytes))
                    head.headers.add(name: "Connection", value: "close")
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
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
