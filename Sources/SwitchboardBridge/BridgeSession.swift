import Atomics
import NIOCore
import NIOHTTP1
import NIOWebSocket
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardWebSocket

/// One bridged connection: a browser's WebSocket (this object is its transport's sink) glued to a TCP
/// connection to the target, on the same event loop. Bytes go both ways as they come, each side read only
/// as fast as the other side takes them (the reading side pauses while the writing side is not
/// writable, as swift-nio-ssh's glue handler does). The TCP connect is bounded by
/// `bridge.connect_timeout`, silence by `bridge.idle_timeout`; the close code says why it ended.
final class BridgeSession: WebSocketMessageSink {

    private let bridge: BridgeService
    private let target: BridgeService.Target
    private let client: String
    private let counters: BridgeService.RouteCounters?
    private var webSocket: (any Channel)?
    private var context: ChannelHandlerContext?
    private var tcp: (any Channel)?
    /// What the browser sent before the target was connected.
    private var early: [ByteBuffer] = []
    private var lastActivity = NIODeadline.now()
    private var idleCheck: Scheduled<Void>?
    private var ended = false

    init(bridge: BridgeService, target: BridgeService.Target, client: String) {
        self.bridge = bridge
        self.target = target
        self.client = client
        self.counters = bridge.counters(of: target.route)
    }

    // MARK: The browser's side

    /// The handshake's claim: the `binary` subprotocol when offered; no WebSocket pings (the idle timeout
    /// watches the connection) and no read pausing (the session paces each side by the other).
    func webSocketUpgrade(service: HTTPService, offered headers: HTTPHeaders) -> WebSocketUpgrade {
        let binary = headers[canonicalForm: "sec-websocket-protocol"].contains { $0.lowercased() == "binary" }
        return WebSocketUpgrade(
            subprotocol: binary ? "binary" : nil,
            abandoned: { self.abandoned() },
            makeHandlers: { _ in
                var configuration = service.webSocketConfiguration
                configuration.pausesWhenUnwritable = false
                return [WebSocketConnectionHandler(configuration: configuration, keepAlive: nil, sink: self)]
            }
        )
    }

    func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext) {
        let channel = context.channel
        webSocket = channel
        self.context = context
        // Nothing more from the browser until the target is there.
        channel.setOption(ChannelOptions.autoRead, value: false).whenFailure { _ in }
        let session = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timeout = TimeAmount.milliseconds(Int64(bridge.configuration.connectTimeout * 1000))
        bridge.connector.connect(
            host: target.address.host,
            port: target.address.port,
            timeout: timeout,
            on: context.eventLoop
        ) { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(BridgeTargetHandler(session: session.value))
            }
        }
        .whenComplete { result in session.value.connected(result) }
    }

    private func connected(_ result: Result<any Channel, any Error>) {
        switch result {
        case .failure(let error):
            counters?.failed.wrappingIncrement(ordering: .relaxed)
            if case ChannelError.connectTimeout = error {
                closeWebSocket(
                    WebSocketCloseCode.bridgeTargetTimeout,
                    "the target did not accept within the connect timeout"
                )
            } else {
                closeWebSocket(WebSocketCloseCode.bridgeTargetRefused, "the target refused the connection")
            }
        case .success(let channel):
            guard !ended else {
                channel.close(promise: nil)
                return
            }
            tcp = channel
            if target.proxyProtocol {
                channel.write(
                    ProxyProtocolHeader.make(source: webSocket?.remoteAddress, destination: webSocket?.localAddress),
                    promise: nil
                )
            }
            for data in early { channel.write(data, promise: nil) }
            early = []
            channel.flush()
            webSocket?.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            scheduleIdleCheck()
        }
    }

    func received(_ message: WebSocketMessage, on channel: any Channel) {
        guard !ended else { return }
        if !message.isBinary && !target.text {
            closeWebSocket(
                WebSocketCloseCode.unsupportedData,
                "text frames are not accepted on this route (binary only)"
            )
            return
        }
        lastActivity = .now()
        counters?.bytesToTarget.wrappingIncrement(by: message.payload.readableBytes, ordering: .relaxed)
        guard let tcp else {
            early.append(message.payload)
            return
        }
        tcp.writeAndFlush(message.payload, promise: nil)
        if !tcp.isWritable { pause(channel) }
    }

    func writabilityChanged(_ channel: any Channel, isWritable: Bool) {
        // The browser reads again (or not): so does the target.
        if let tcp { setReading(tcp, isWritable) }
    }

    func detached(from channel: any Channel) {
        context = nil
        webSocket = nil
        guard !ended else { return }
        end()
        // The browser left: the target gets what was sent, then the end of the stream (a half-close);
        // a target that never closes its side is cut after a while.
        if let tcp {
            tcp.close(mode: .output, promise: nil)
            let channel = tcp
            tcp.eventLoop.scheduleTask(in: .seconds(5)) { channel.close(promise: nil) }
        }
    }

    /// The WebSocket never came to be (the client left during the handshake).
    func abandoned() {
        guard !ended else { return }
        end()
    }

    func shutdown(_ channel: any Channel) {
        closeWebSocket(WebSocketCloseCode.goingAway, "server shutting down")
    }

    // MARK: The target's side

    func fromTarget(_ data: ByteBuffer) {
        guard let context, !ended else { return }
        lastActivity = .now()
        counters?.bytesFromTarget.wrappingIncrement(by: data.readableBytes, ordering: .relaxed)
        // The frame header, then the bytes as they were read: no copy of the payload.
        var header = context.channel.allocator.buffer(capacity: 10)
        WebSocketFrameWriter.writeHeader(opcode: .binary, length: data.readableBytes, into: &header)
        context.write(NIOAny(header), promise: nil)
        context.write(NIOAny(data), promise: nil)
    }

    func fromTargetComplete() {
        context?.flush()
        if let webSocket, !webSocket.isWritable, let tcp { pause(tcp) }
    }

    func targetWritabilityChanged(isWritable: Bool) {
        if let webSocket { setReading(webSocket, isWritable) }
    }

    /// The target closed its side (or the connection failed).
    func targetClosed(failed: Bool) {
        tcp = nil
        guard !ended else { return }
        closeWebSocket(
            failed ? WebSocketCloseCode.bridgeTargetFailed : WebSocketCloseCode.normal,
            failed ? "the connection to the target failed" : "the target closed the connection"
        )
    }

    // MARK: Flow

    private func pause(_ channel: any Channel) {
        setReading(channel, false)
    }

    private func setReading(_ channel: any Channel, _ reading: Bool) {
        channel.setOption(ChannelOptions.autoRead, value: reading).whenFailure { _ in }
        if reading { channel.read() }
    }

    private func scheduleIdleCheck() {
        let seconds = bridge.configuration.idleTimeout
        guard seconds > 0, let eventLoop = context?.eventLoop else { return }
        let timeout = TimeAmount.milliseconds(Int64(seconds * 1000))
        let session = NIOLoopBound(self, eventLoop: eventLoop)
        idleCheck = eventLoop.scheduleTask(deadline: lastActivity + timeout) { session.value.checkIdle(timeout) }
    }

    private func checkIdle(_ timeout: TimeAmount) {
        guard !ended else { return }
        if NIODeadline.now() - lastActivity >= timeout {
            closeWebSocket(
                WebSocketCloseCode.bridgeIdle,
                "idle for \(bridge.configuration.idleTimeout) s (bridge.idle_timeout)"
            )
        } else {
            scheduleIdleCheck()
        }
    }

    // MARK: Ending

    /// Says why, the WebSocket way; the target's connection closes with it.
    private func closeWebSocket(_ code: UInt16, _ reason: String) {
        guard !ended else { return }
        end()
        context?.flush()
        webSocket?.triggerUserOutboundEvent(WebSocketCloseRequest(code: code, reason: reason), promise: nil)
        tcp?.close(promise: nil)
        tcp = nil
    }

    private func end() {
        ended = true
        idleCheck?.cancel()
        idleCheck = nil
        early = []
        bridge.release(target, client: client)
    }
}

/// The target's TCP connection: hands its bytes to the session, and tells it when the target stops
/// taking more or closes.
final class BridgeTargetHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let session: BridgeSession

    init(session: BridgeSession) {
        self.session = session
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        session.fromTarget(unwrapInboundIn(data))
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        session.fromTargetComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        session.targetWritabilityChanged(isWritable: context.channel.isWritable)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case ChannelEvent.inputClosed = event {
            session.targetClosed(failed: false)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.targetClosed(failed: false)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        session.targetClosed(failed: true)
        context.close(promise: nil)
    }
}
