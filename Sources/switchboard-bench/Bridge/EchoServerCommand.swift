import ArgumentParser
import NIOCore
import NIOPosix

/// `switchboard-bench echo`: a TCP echo server on NIO, fast enough that a bridge in front of it is what
/// a benchmark measures (Python's echo servers are slower than the bridges under test).
struct EchoServerCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "echo",
        abstract: "Run a TCP echo server (the target of bridge benchmarks)."
    )

    @Option(help: "HOST:PORT to listen on.")
    var listen = "127.0.0.1:7001"

    func run() throws {
        guard let address = BridgeTarget(listen) else { throw ValidationError("--listen: expected HOST:PORT") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Echo()) }
            }
            .bind(host: address.host, port: address.port)
            .wait()
        print("echo: listening on \(listen)")
        try channel.closeFuture.wait()
    }

    /// Writes back what it reads; stops reading while the peer does not take the echo.
    final class Echo: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.write(data, promise: nil)
        }

        func channelReadComplete(context: ChannelHandlerContext) {
            context.flush()
            if !context.channel.isWritable { context.channel.setOption(.autoRead, value: false).whenFailure { _ in } }
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            if context.channel.isWritable {
                context.channel.setOption(.autoRead, value: true).whenFailure { _ in }
                context.read()
            }
        }
    }
}
