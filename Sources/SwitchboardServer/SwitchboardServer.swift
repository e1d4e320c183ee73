@preconcurrency import Dispatch
public import Logging
import NIOConcurrencyHelpers
public import NIOCore
import NIOPosix
import NIOSSL
import SwitchboardAuth
import SwitchboardBridge
public import SwitchboardCore
import SwitchboardHTTP
import SwitchboardNative
import SwitchboardRedis
import SwitchboardSTOMP
import SwitchboardSocketIO

/// The running server: the hub, the listeners on their event loops, periodic upkeep and graceful shutdown.
public final class SwitchboardServer: Sendable {
    /// The configuration it runs with.
    public let configuration: SwitchboardConfiguration
    /// The hub every front end shares.
    public let hub: Hub
    let httpService: HTTPService
    let stompService: STOMPService
    let group: MultiThreadedEventLoopGroup
    let logger: Logger
    /// Keeps the token keys of `security.jwks`, when configured.
    let jwks: JWKSLoader?
    /// Connections in total and per client address, across the listeners.
    let connectionLimiter: ConnectionLimiter
    /// The certificate of `[tls]`, when configured.
    let tls: TLSCertificates?
    /// The shared engine (`engine.type = "redis"`), when configured.
    let engine: RedisBroker?

    /// Builds the server (nothing is bound yet). Throws what is wrong with files the configuration names
    /// (a trust store that cannot be read).
    public init(configuration: SwitchboardConfiguration, logger: Logger) throws {
        self.configuration = configuration
        self.logger = logger
        var registry = WireFormatRegistry()
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration.httpFrontEnd)
        // The front ends in modules of their own; those that encode messages register their formats now.
        let native = NativeFrontEnd(configuration: configuration.httpFrontEnd, registry: &registry)
        let socketIO = SocketIOFrontEnd(configuration.httpFrontEnd.socketIO, registry: &registry)
        let stompFormats = STOMPService.registerFormats(in: &registry)
        let threads = configuration.threads > 0 ? configuration.threads : System.coreCount
        self.group = MultiThreadedEventLoopGroup(numberOfThreads: threads)
        let hubBox = HubBox()
        self.engine = try Self.makeEngine(configuration, hub: hubBox, on: group.next(), logger: logger)
        self.hub = Hub(
            configuration: configuration.hub,
            formats: registry,
            memory: MemoryBudget(limit: configuration.maxMemory),
            engine: engine
        )
        hubBox.hub = hub
        self.stompService = STOMPService(hub: hub, configuration: configuration.stompBroker, formats: stompFormats)
        var httpConfiguration = configuration.httpFrontEnd
        httpConfiguration.applyHostDefault(listenerHost: configuration.http.host)
        httpConfiguration.usesTLS = configuration.usesTLS
        self.tls =
            configuration.usesTLS
            ? try TLSCertificates(certificate: configuration.tlsCertificate, key: configuration.tlsKey) : nil
        let backend = try HTTPClient(extraTrustFile: configuration.jwksCA.isEmpty ? nil : configuration.jwksCA)
        var tokens: TokenVerifier?
        if !configuration.tokens.secret.isEmpty || !configuration.jwks.isEmpty {
            tokens = TokenVerifier(configuration: configuration.tokens)
        }
        self.jwks = tokens.flatMap { verifier in
            configuration.jwks.isEmpty
                ? nil
                : JWKSLoader(
                    source: configuration.jwks,
                    verifier: verifier,
                    client: backend,
                    refreshSeconds: configuration.jwksRefresh,
                    logger: logger
                )
        }
        // The bridge's exact paths are asked first.
        let bridge: [any HTTPFrontEnd] =
            configuration.bridge.isEnabled
            ? [BridgeService(configuration: configuration.bridge, connector: PosixTCPConnector())] : []
        self.httpService = HTTPService(
            hub: hub,
            configuration: httpConfiguration,
            formats: formats,
            frontEnds: bridge + [native] + (socketIO.map { [$0] } ?? []) + [STOMPFrontEnd(stomp: stompService)],
            backend: backend,
            tokens: tokens
        )
        let descriptors = ConnectionLimits.raiseDescriptorLimit()
        let maxConnections =
            configuration.maxConnections ?? ConnectionLimits.defaultMaxConnections(descriptors: descriptors)
        if maxConnections < 1000 {
            logger.warning(
                "only \(maxConnections) connections in all (limits.max_connections; \(descriptors) file descriptors): raise the descriptor limit (ulimit -n) for more"
            )
        }
        self.connectionLimiter = ConnectionLimiter(
            maxConnections: maxConnections,
            perAddress: configuration.connectionsPerAddress
        )
    }

    /// The bound listeners.
    public struct Listeners: Sendable {
        /// The HTTP/WebSocket listener.
        public var http: any Channel
        /// The STOMP over TCP listener, unless turned off.
        public var stomp: (any Channel)?

        /// Where the HTTP listener is bound.
        public var httpAddress: SocketAddress? { http.localAddress }
        /// Where the STOMP listener is bound.
        public var stompAddress: SocketAddress? { stomp?.localAddress }
    }

    /// Binds the listeners.
    public func start() async throws -> Listeners {
        try jwks?.start(on: group.next())
        engine?.start()
        let service = httpService
        let limiter = connectionLimiter
        let bootstrap = serverBootstrap(tls: tls) { channel in
            // A trusted proxy's connections are counted against their forwarded client once its first
            // request says who that is (HTTPHandler); everyone else's against their own address.
            let peer = channel.remoteAddress?.ipAddress
            switch limiter.admit(address: service.isTrustedProxy(peer) ? nil : peer ?? "?") {
            case .failure(let refusal):
                let answer = HTTPService.refusal(refusal.message, allocator: channel.allocator)
                try channel.pipeline.syncOperations.addHandler(ConnectionRefusalHandler(answer: answer))
            case .success(let slot):
                channel.closeFuture.whenComplete { _ in slot.release() }
                try service.installHandlers(on: channel, slot: slot)
            }
        }
        let address = configuration.http
        let http = try await bootstrap.bind(host: address.host, port: address.port).get()
        var stomp: (any Channel)?
        if let stompAddress = configuration.stomp {
            let stompService = self.stompService
            let stompBootstrap = serverBootstrap(tls: configuration.stompTLS ? tls : nil) { channel in
                switch limiter.admit(address: channel.remoteAddress?.ipAddress ?? "?") {
                case .failure(let refusal):
                    let answer = STOMPService.refusal(refusal.message, allocator: channel.allocator)
                    try channel.pipeline.syncOperations.addHandler(ConnectionRefusalHandler(answer: answer))
                case .success(let slot):
                    channel.closeFuture.whenComplete { _ in slot.release() }
                    stompService.connectionOpened(channel, webSocket: false)
                    try channel.pipeline.syncOperations.addHandler(stompService.makeHandler())
                }
            }
            do {
                stomp = try await stompBootstrap.bind(host: stompAddress.host, port: stompAddress.port).get()
            } catch {
                try? await http.close()
                throw error
            }
        }
        // Expired history, unused channels and idle queues are dropped in the background, once a second.
        let hub = self.hub
        let stompService = self.stompService
        group.next().scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in
            hub.sweep()
            stompService.sweep()
        }
        return Listeners(http: http, stomp: stomp)
    }

    /// A server bootstrap with the options every listener shares; with `tls`, every connection is
    /// encrypted before `initialize`'s handlers see it, and must complete its handshake within
    /// `limits.header_timeout`.
    private func serverBootstrap(
        tls: TLSCertificates? = nil,
        _ initialize: @escaping @Sendable (any Channel) throws -> Void
    ) -> ServerBootstrap {
        let handshakeTimeout = TimeAmount.milliseconds(Int64(configuration.httpFrontEnd.headerTimeout * 1000))
        let highWater = configuration.httpFrontEnd.maxOutboundBytes
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // Out of file descriptors (EMFILE), accept fails while the listener stays readable: without a
            // pause the event loop would spin on it. Accepting resumes after 100 ms.
            .serverChannelInitializer { [logger] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(AcceptPauseHandler(logger: logger))
                }
            }
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
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls.context))
                        try channel.pipeline.syncOperations.addHandler(
                            TLSHandshakeDeadlineHandler(timeout: handshakeTimeout)
                        )
                    }
                    try initialize(channel)
                }
            }
    }

    /// Runs until SIGINT or SIGTERM, then shuts down gracefully: no new connections, every connection says
    /// its protocol's goodbye, and those still open after `server.shutdown_timeout` are cut.
    public func run() async throws {
        let listeners = try await start()
        let scheme = tls == nil ? "http" : "https"
        var metadata: Logger.Metadata = ["http": "\(scheme)://\(Self.describe(listeners.httpAddress))"]
        if let stomp = listeners.stompAddress {
            metadata["stomp"] = "\(configuration.stompTLS ? "tls://" : "")\(Self.describe(stomp))"
        }
        logger.info("Switchboard listening", metadata: metadata)
        for warning in configuration.warnings { logger.warning("\(warning)") }
        let hangUps = SignalWaiter.onHangUp { [self] in reload() }
        let signal = await SignalWaiter.waitForTermination()
        hangUps.cancel()
        logger.info("shutting down", metadata: ["signal": "\(signal)"])
        // The HTTP listener stays open while connections drain: /healthz answers 503 there (a load balancer
        // takes the node out), every other request 503 shutting_down. No new STOMP connections.
        try? await listeners.stomp?.close()
        // Every connection says its protocol's goodbye (WebSocket close 1001, SSE shutdown event, STOMP ERROR).
        httpService.shutdownLongPollSessions()
        let registries = [httpService.connections, stompService.connections]
        let told = registries.reduce(0) { $0 + $1.beginShutdown() }
        logger.info("told connections to close", metadata: ["connections": "\(told)"])
        let deadline = NIODeadline.now() + .milliseconds(Int64(configuration.shutdownTimeout * 1000))
        func openCount() -> Int { registries.reduce(0) { $0 + $1.count } }
        while openCount() > 0 && NIODeadline.now() < deadline {
            try? await Task.sleep(nanoseconds: 20_000_000)
        }
        if openCount() > 0 {
            logger.warning(
                "closing connections that did not finish in time",
                metadata: ["connections": "\(openCount())"]
            )
        }
        try? await listeners.http.close()
        engine?.shutdown()
        try await group.shutdownGracefully()
        logger.info("stopped")
    }

    /// SIGHUP: what can change without a restart is read again (the JWK Set file, TLS certificates).
    public func reload() {
        logger.info("reloading (SIGHUP)")
        jwks?.reload(on: group.next())
        do {
            try tls?.reload()
            if tls != nil {
                logger.info("TLS certificate read again", metadata: ["cert": "\(configuration.tlsCertificate)"])
            }
        } catch {
            logger.error("\(error); the certificate in use stays")
        }
    }
}

extension SwitchboardServer {
    static func describe(_ address: SocketAddress?) -> String {
        guard let address else { return "?" }
        let host = address.ipAddress ?? "?"
        return host.contains(":") ? "[\(host)]:\(address.port ?? 0)" : "\(host):\(address.port ?? 0)"
    }
}

/// Waits for SIGINT or SIGTERM; calls back on SIGHUP.
enum SignalWaiter {
    /// Calls `body` on every SIGHUP until the returned source is cancelled.
    static func onHangUp(_ body: @escaping @Sendable () -> Void) -> any DispatchSourceSignal {
        signal(SIGHUP, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGHUP, queue: DispatchQueue(label: "switchboard.sighup"))
        source.setEventHandler(handler: body)
        source.resume()
        return source
    }

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

extension SwitchboardServer {
    /// The hub an engine's events go to: the engine is made before the hub that uses it.
    final class HubBox: @unchecked Sendable {
        // Set once, right after the hub is made and before the engine starts; read afterwards.
        var hub: Hub?
    }

    /// The Redis engine of `engine.type = "redis"`, wired to tell the hub what Redis says; nil for memory.
    static func makeEngine(
        _ configuration: SwitchboardConfiguration,
        hub: HubBox,
        on eventLoop: any EventLoop,
        logger: Logger
    ) throws -> RedisBroker? {
        guard configuration.engine.isShared, let url = configuration.engine.redis.first else { return nil }
        let endpoint = try RedisEndpoint(url: url)
        let hubConfiguration = configuration.hub
        return RedisBroker(
            endpoint: endpoint,
            configuration: .init(
                prefix: configuration.engine.prefix,
                historySize: hubConfiguration.historySize,
                historyTTLMilliseconds: hubConfiguration.historyTTLMilliseconds,
                channelRetentionMilliseconds: hubConfiguration.channelRetentionMilliseconds
            ),
            connector: PosixTCPConnector(),
            eventLoop: eventLoop,
            events: .init(
                received: { hub.hub?.ingest($0) },
                deleted: { hub.hub?.engineDeleted($0, epoch: $1) },
                detachedByRedis: { hub.hub?.engineDetached($0) },
                linkUp: {
                    logger.info("Redis engine up", metadata: ["redis": "\(endpoint)"])
                    hub.hub?.engineLinkUp()
                },
                linkDown: { error in
                    logger.warning(
                        "Redis engine down: publishes are refused until it returns",
                        metadata: ["redis": "\(endpoint)", "reason": "\(error)"]
                    )
                }
            ),
            makeEpoch: {
                var generator = SystemRandomNumberGenerator()
                return StreamPosition.makeEpoch(using: &generator)
            }
        )
    }
}
