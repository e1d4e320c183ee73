@preconcurrency import Dispatch
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwitchboardCore
import SwitchboardHTTP

/// The running server: the hub, the listeners on their event loops, periodic upkeep and graceful shutdown.
public final class SwitchboardServer: Sendable {
    /// The configuration it runs with.
    public let configuration: SwitchboardConfiguration
    /// The hub every front end shares.
    public let hub: Hub
    let httpService: HTTPService
    let group: MultiThreadedEventLoopGroup
    let logger: Logger

    /// Builds the server (nothing is bound yet).
    public init(configuration: SwitchboardConfiguration, logger: Logger) {
        self.configuration = configuration
        self.logger = logger
        var registry = WireFormatRegistry()
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration.httpFrontEnd)
        self.hub = Hub(configuration: configuration.hub, formats: registry)
        self.httpService = HTTPService(hub: hub, configuration: configuration.httpFrontEnd, formats: formats)
        let threads = configuration.threads > 0 ? configuration.threads : System.coreCount
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
    }

    /// Binds the listeners and returns the bound HTTP address.
    public func start() async throws -> (server: any Channel, address: SocketAddress) {
        let service = httpService
        let highWater = configuration.httpFrontEnd.maxOutboundBytes
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            // Each connection keeps its receive buffer for reuse; most of them (subscribers) read little, so
            // start small (NIO's default is 2 KiB) and let busy connections grow theirs.
            .childChannelOption(
                .recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(minimum: 64, initial: 512, maximum: 65536)
            )
            // The slow-consumer limit: a subscriber whose unsent bytes exceed it becomes unwritable and is closed.
            .childChannelOption(.writeBufferWaterMark, value: .init(low: highWater / 2, high: highWater))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try service.installHandlers(on: channel) }
            }
        let address = configuration.http
        let channel = try await bootstrap.bind(host: address.host, port: address.port).get()
        guard let bound = channel.localAddress else { throw ChannelError.unknownLocalAddress }
        // Expired history and unused channels are dropped in the background, once a second.
        let hub = self.hub
        group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in hub.sweep() }
        return (channel, bound)
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully: no new connections, every connection says
    /// its protocol's goodbye, and those still open after `server.shutdown_timeout` are cut.
    public func run() async throws {
        let (server, address) = try await start()
        logger.info(
            "Switchboard listening",
            metadata: ["http": "http://\(address.ipAddress ?? configuration.http.host):\(address.port ?? 0)"]
        )
        let signal = await SignalWaiter.waitForTermination()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        try? await server.close()
        let told = httpService.beginShutdown()
        logger.info("told connections to close", metadata: ["connections": "\(told)"])
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.shutdownTimeout * 1000))
        while httpService.openConnectionCount > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if httpService.openConnectionCount > 0 {
            logger.warning(
                "closing connections that did not finish in time",
                metadata: ["connections": "\(httpService.openConnectionCount)"]
            )
        }
        try await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// Waits for SIGINT or SIGTERM.
enum SignalWaiter {
    static func waitForTermination() async -> Int32 {
        let queue = DispatchQueue(label: "switchboard.signals")
        let resumed = NIOLockedValueBox(false)
        var sources: [any DispatchSourceSignal] = []
        let number = await withCheckedContinuation { (continuation: CheckedContinuation<Int32, Never>) in
            for number in [SIGINT, SIGTERM] {
                signal(number, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
                source.setEventHandler {
                    let first = resumed.withLockedValue { done in
                        defer { done = true }
                        return !done
                    }
                    if first { continuation.resume(returning: number) }
                }
                source.resume()
                sources.append(source)
            }
        }
        // The sources must stay alive until a signal arrived.
        withExtendedLifetime(sources) {}
        return number
    }
}
