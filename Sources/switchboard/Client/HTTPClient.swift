import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchboardHTTP

/// A minimal HTTP/1.1 client for the CLI's `publish` and `subscribe`: one request per connection, the
/// response body handed over chunk by chunk as it arrives (so an SSE stream can be read live).
struct HTTPClient {
    /// `http://HOST:PORT[/prefix]`.
    typealias ServerURL = HTTPURL

    let server: ServerURL

    /// Sends one request; `onHead` sees the response head, `onBody` each body chunk (return `false` to stop).
    func send(
        method: HTTPMethod,
        path: String,
        headers: [(String, String)] = [],
        body: ByteBuffer? = nil,
        onHead: (HTTPResponseHead) throws -> Void,
        onBody: (ByteBuffer) throws -> Bool
    ) async throws {
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: server.host, port: server.port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(
                        wrappingChannelSynchronously: channel
                    )
                }
            }
        try await channel.executeThenClose { inbound, outbound in
            var head = HTTPRequestHead(version: .http1_1, method: method, uri: server.pathPrefix + path)
            head.headers.add(name: "Host", value: "\(server.host):\(server.port)")
            head.headers.add(name: "Connection", value: "close")
            for (name, value) in headers { head.headers.add(name: name, value: value) }
            if let body { head.headers.add(name: "Content-Length", value: String(body.readableBytes)) }
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
}
