import NIOCore
import NIOHTTP1
import NIOPosix

/// Publishes benchmark payloads with `POST` over a few keep-alive connections, pipelining up to a depth,
/// at a fixed rate (or as fast as the server answers). Confined to one event loop.
final class Publisher {
    private let eventLoop: any EventLoop
    private let pattern: URLPattern
    private let layout: Layout
    private let size: Int
    private let dialect: SocketIODialect
    private var connections: [any PublishingConnection] = []
    private var sequences: [Int]
    /// Messages published per channel in the current step.
    private(set) var publishedInStep: [Int]
    private(set) var published = 0
    private(set) var errors = 0
    private var random = Xorshift(seed: 0x9E37_79B9_7F4A_7C15)
    private var timer: RepeatedTask?
    private var stepStart: UInt64 = 0
    private var stepSent = 0
    private var rate = 0.0

    init(eventLoop: any EventLoop, pattern: URLPattern, layout: Layout, size: Int, dialect: SocketIODialect) {
        self.eventLoop = eventLoop
        self.dialect = dialect
        self.pattern = pattern
        self.layout = layout
        self.size = size
        self.sequences = [Int](repeating: 0, count: layout.channelCount)
        self.publishedInStep = [Int](repeating: 0, count: layout.channelCount)
    }

    /// Opens `count` connections, each allowing `depth` requests in flight: HTTP `POST`s, or — for a
    /// `ws://` URL — Socket.IO events with acknowledgements.
    func connect(count: Int, depth: Int) -> EventLoopFuture<Void> {
        if pattern.scheme == .ws { return connectSocketIO(count: count, depth: depth) }
        let futures = (0..<count).map { _ in
            let connection = PublishConnection(depth: depth, host: "\(pattern.host):\(pattern.port)")
            return open(connection, http: true)
        }
        return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
    }

    private func connectSocketIO(count: Int, depth: Int) -> EventLoopFuture<Void> {
        let futures = (0..<count).map { _ in
            let ready = eventLoop.makePromise(of: Void.self)
            let connection = SocketIOPublishConnection(
                depth: depth,
                dialect: dialect,
                host: pattern.host,
                port: pattern.port,
                path: pattern.pathTemplate,
                ready: ready
            )
            return open(connection, http: false).flatMap { ready.futureResult }
        }
        return EventLoopFuture.andAllSucceed(futures, on: eventLoop)
    }

    /// Connects one publishing connection (behind NIO's HTTP client handlers when `http`).
    private func open<Connection: PublishingConnection & ChannelHandler>(
        _ connection: Connection,
        http: Bool
    ) -> EventLoopFuture<Void> {
        connection.onResponse = { [unowned self] ok in self.responded(ok: ok) }
        connections.append(connection)
        let bound = NIOLoopBound(connection, eventLoop: eventLoop)
        return ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if http { try channel.pipeline.syncOperations.addHTTPClientHandlers() }
                    try channel.pipeline.syncOperations.addHandler(bound.value)
                }
            }
            .connect(host: pattern.host, port: pattern.port)
            .map { _ in () }
    }

    /// Starts publishing at `rate` per second (0: keep every connection's pipeline full).
    func start(rate: Double) {
        self.rate = rate
        publishedInStep = [Int](repeating: 0, count: layout.channelCount)
        stepStart = Clock.nanos()
        stepSent = 0
        if rate > 0 {
            let publisher = NIOLoopBound(self, eventLoop: eventLoop)
            timer = eventLoop.scheduleRepeatedTask(initialDelay: .zero, delay: .milliseconds(1)) { _ in
                publisher.value.tick()
            }
        } else {
            fill()
        }
    }

    func stop() {
        timer?.cancel()
        timer = nil
        rate = -1
    }

    /// Requests still unanswered.
    var outstanding: Int { connections.reduce(0) { $0 + $1.outstanding } }

    private func tick() {
        let due = Int(Double(Clock.nanos() - stepStart) / 1e9 * rate) - stepSent
        guard due > 0 else { return }
        for _ in 0..<due {
            guard send() else { return }  // Behind: the server is not keeping up.
            stepSent += 1
        }
    }

    private func fill() {
        while rate == 0, send() {}
    }

    private func responded(ok: Bool) {
        if !ok { errors += 1 }
        if rate == 0 { fill() }
    }

    /// Publishes the next message, unless its connection's pipeline is full.
    ///
    /// Each channel is published through one connection only: a server handles one connection's requests
    /// in order, so sequence numbers reach subscribers in order and any out-of-order arrival is the
    /// server's doing.
    private func send() -> Bool {
        let channel: Int
        switch layout {
        case .broadcast(let channels): channel = published % channels
        case .personalGroup: channel = Int(random.next() % UInt64(layout.channelCount))
        }
        let connection = connections[channel % connections.count]
        guard connection.outstanding < connection.depth else { return false }
        sequences[channel] += 1
        publishedInStep[channel] += 1
        published += 1
        let payload = Payload.make(
            sequence: sequences[channel],
            channel: channel,
            sentNanos: Clock.nanos(),
            size: size,
            allocator: connection.allocator
        )
        let name = layout.channelName(channel)
        connection.publish(channel: name, path: pattern.path(channel: name, group: nil), body: payload)
        return true
    }
}

/// A connection the publisher sends messages through.
protocol PublishingConnection: AnyObject {
    var depth: Int { get }
    var outstanding: Int { get }
    var allocator: ByteBufferAllocator { get }
    var onResponse: ((Bool) -> Void)? { get set }
    func publish(channel: String, path: String, body: ByteBuffer)
}

/// One publishing HTTP connection.
final class PublishConnection: ChannelInboundHandler, PublishingConnection {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let depth: Int
    let host: String
    let allocator = ByteBufferAllocator()
    private(set) var outstanding = 0
    private var context: ChannelHandlerContext?
    private var status: UInt = 0
    var onResponse: ((Bool) -> Void)?

    init(depth: Int, host: String) {
        self.depth = depth
        self.host = host
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func publish(channel: String, path: String, body: ByteBuffer) {
        guard let context else { return }
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: path)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "Content-Type", value: "text/plain")
        head.headers.add(name: "Content-Length", value: String(body.readableBytes))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        outstanding += 1
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): status = head.status.code
        case .body: break
        case .end:
            outstanding -= 1
            onResponse?((200..<300).contains(status))
        }
    }
}

/// A small fast random generator for picking channels (xorshift64*).
struct Xorshift {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return state &* 0x2545_F491_4F6C_DD1D
    }
}
