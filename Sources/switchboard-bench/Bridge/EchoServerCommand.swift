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

    @Option(help: "echo (write back what comes), sink (read, and write one byte per MiB read), source (send forever).")
    var mode: Mode = .echo

    enum Mode: String, ExpressibleByArgument {
        case echo, sink, source
    }

    func run() throws {
        guard let address = BridgeTarget(listen) else { throw ValidationError("--listen: expected HOST:PORT") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let channel = try ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { [mode] channel in
                channel.eventLoop.makeCompletedFuture {
                    switch mode {
                    case .echo: try channel.pipeline.syncOperations.addHandler(Echo())
                    case .sink: try channel.pipeline.syncOperations.addHandler(Sink())
                    case .source: try channel.pipeline.syncOperations.addHandler(Source())
                    }
                }
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

    /// Reads everything; one byte back per MiB, so that the sender knows how much arrived.
    final class Sink: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private var count = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            count += unwrapInboundIn(data).readableBytes
            while count >= 1 << 20 {
                count -= 1 << 20
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(bytes: [0x2E])), promise: nil)
            }
        }
    }

    /// Sends as fast as the peer takes it, until it closes.
    final class Source: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let chunk = ByteBuffer(repeating: 0x73, count: 64 << 10)

        func channelActive(context: ChannelHandlerContext) {
            fill(context)
        }

        func channelWritabilityChanged(context: ChannelHandlerContext) {
            fill(context)
        }

        private func fill(_ context: ChannelHandlerContext) {
            while context.channel.isWritable && context.channel.isActive {
                context.write(wrapOutboundOut(chunk), promise: nil)
                context.flush()
            }
        }
    }
}
