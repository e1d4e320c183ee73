import NIOCore
import NIOEmbedded
import NIOWebSocket
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import SwitchboardWebSocket

/// The one WebSocket handler on an `EmbeddedChannel`: bytes in, frames out, between the pure traces of the
/// parser and assembler and the integration suite (which runs the real server).
@Suite("WebSocketConnectionHandler")
struct WebSocketConnectionHandlerTests {
    static let configuration = WebSocketConnectionHandler.Configuration(
        maxMessageSize: 1000,
        goodbyeTimeout: .seconds(30)
    )

    /// The next server frame written: its first byte (FIN and opcode) and its payload.
    static func serverFrame(_ channel: EmbeddedChannel) throws -> (first: UInt8, payload: ByteBuffer)? {
        guard var buffer = try channel.readOutbound(as: ByteBuffer.self) else { return nil }
        let firstByte = buffer.readInteger(as: UInt8.self)
        let secondByte = buffer.readInteger(as: UInt8.self)
        let first = try #require(firstByte)
        let second = try #require(secondByte)
        #expect(second & 0x80 == 0, "server frames are never masked")
        var length = Int(second & 0x7F)
        if length == 126 {
            let extended = buffer.readInteger(as: UInt16.self)
            length = Int(try #require(extended))
        }
        let slice = buffer.readSlice(length: length)
        let payload = try #require(slice)
        return (first, payload)
    }

    static func closeCode(_ payload: ByteBuffer) -> UInt16? {
        payload.getInteger(at: payload.readerIndex, as: UInt16.self)
    }

    /// A sink that keeps what it is told.
    final class RecordingSink: WebSocketMessageSink {
        var messages: [(isBinary: Bool, text: String)] = []
        var attached = 0
        var detached = 0
        var shutdowns = 0
        var connection: WebSocketConnectionHandler?

        func attached(to connection: WebSocketConnectionHandler, context: ChannelHandlerContext) {
            attached += 1
            self.connection = connection
        }
        func received(_ message: WebSocketMessage, on channel: any Channel) {
            messages.append((message.isBinary, String(buffer: message.payload)))
        }
        func detached(from channel: any Channel) { detached += 1 }
        func shutdown(_ channel: any Channel) { shutdowns += 1 }
    }

    func channel(sink: (any WebSocketMessageSink)?) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(
            WebSocketConnectionHandler(configuration: Self.configuration, keepAlive: nil, sink: sink)
        )
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        return channel
    }

    @Test("a message in, fragmented across reads and frames, reaches the sink whole; the echo sink sends it back")
    func messageInAndOut() throws {
        let sink = RecordingSink()
        let recorded = try channel(sink: sink)
        #expect(sink.attached == 1)
        var bytes = EmbeddedWebSocketClient.frame(0x1, Array("Hel".utf8), fin: false)
        bytes.writeImmutableBuffer(EmbeddedWebSocketClient.frame(0x0, Array("lo".utf8)))
        // Split mid-frame: the handler keeps the partial frame until the rest arrives.
        let head = bytes.getSlice(at: 0, length: 5)!
        let tail = bytes.getSlice(at: 5, length: bytes.readableBytes - 5)!
        try recorded.writeInbound(head)
        #expect(sink.messages.isEmpty)
        try recorded.writeInbound(tail)
        try recorded.writeInbound(EmbeddedWebSocketClient.frame(0x2, [0xFF, 0x00]))
        #expect(sink.messages.map(\.text).first == "Hello")
        #expect(sink.messages.map(\.isBinary) == [false, true])

        let echo = try channel(sink: WebSocketEchoSink())
        try echo.writeInbound(EmbeddedWebSocketClient.frame(0x1, Array("ping me".utf8)))
        let frame = try #require(try Self.serverFrame(echo))
        #expect(frame.first == 0x81 && String(buffer: frame.payload) == "ping me")
    }

    @Test("without a sink, messages go down the pipeline as their payload")
    func forwardsDownThePipeline() throws {
        let channel = try channel(sink: nil)
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x1, Array("SEND".utf8)))
        let payload = try #require(try channel.readInbound(as: ByteBuffer.self))
        #expect(String(buffer: payload) == "SEND")
    }

    @Test("a ping is answered with a pong carrying its payload")
    func pingPong() throws {
        let channel = try channel(sink: RecordingSink())
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x9, Array("tick".utf8)))
        let pong = try #require(try Self.serverFrame(channel))
        #expect(pong.first == 0x8A && String(buffer: pong.payload) == "tick")
    }

    @Test("the peer's close is answered with its code, then the connection closes and the sink is detached")
    func peerCloses() throws {
        let sink = RecordingSink()
        let channel = try channel(sink: sink)
        var payload: [UInt8] = [0x03, 0xE8]  // 1000
        payload += Array("bye".utf8)
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x8, payload))
        let reply = try #require(try Self.serverFrame(channel))
        #expect(reply.first == 0x88 && Self.closeCode(reply.payload) == 1000)
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect(sink.detached == 1)
    }

    @Test("a protocol error fails the connection with 1002; a frame over the limit with 1009")
    func protocolErrors() throws {
        // An unmasked client frame breaks RFC 6455 §5.1.
        let unmasked = try channel(sink: RecordingSink())
        try unmasked.writeInbound(ByteBuffer(bytes: [0x81, 0x02, 0x68, 0x69]))
        let failed = try #require(try Self.serverFrame(unmasked))
        #expect(failed.first == 0x88 && Self.closeCode(failed.payload) == WebSocketCloseCode.protocolError)
        // What the peer still sends is dropped.
        let sink = RecordingSink()
        let large = try channel(sink: sink)
        try large.writeInbound(EmbeddedWebSocketClient.frame(0x2, [UInt8](repeating: 1, count: 1001)))
        let tooBig = try #require(try Self.serverFrame(large))
        #expect(Self.closeCode(tooBig.payload) == WebSocketCloseCode.messageTooBig)
        try large.writeInbound(EmbeddedWebSocketClient.frame(0x1, Array("late".utf8)))
        #expect(sink.messages.isEmpty)
    }

    @Test("closing: the sink's close, a close request from behind, and a plain close each send one close frame")
    func serverCloses() throws {
        let sink = RecordingSink()
        let channel = try channel(sink: sink)
        sink.connection?.close(.slowConsumer)
        let frame = try #require(try Self.serverFrame(channel))
        #expect(Self.closeCode(frame.payload) == WebSocketCloseCode.slowConsumer)
        #expect(
            String(
                buffer: frame.payload.getSlice(
                    at: frame.payload.readerIndex + 2,
                    length: frame.payload.readableBytes - 2
                )!
            ) == "slow consumer"
        )
        // Only one close frame: a second close says nothing more.
        channel.pipeline.triggerUserOutboundEvent(WebSocketCloseRequest(code: 4004, reason: "again"), promise: nil)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)

        let behind = try self.channel(sink: nil)
        behind.pipeline.triggerUserOutboundEvent(
            WebSocketCloseRequest(code: 4004, reason: "disconnected"),
            promise: nil
        )
        #expect(Self.closeCode(try #require(try Self.serverFrame(behind)).payload) == 4004)

        let plain = try self.channel(sink: nil)
        plain.pipeline.close(promise: nil)
        #expect(Self.closeCode(try #require(try Self.serverFrame(plain)).payload) == WebSocketCloseCode.normal)
    }

    @Test("graceful shutdown goes to the sink; an expired token closes with 4005")
    func events() throws {
        let sink = RecordingSink()
        let channel = try channel(sink: sink)
        channel.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent())
        #expect(sink.shutdowns == 1)
        channel.pipeline.fireUserInboundEventTriggered(TokenExpiredEvent())
        let frame = try #require(try Self.serverFrame(channel))
        #expect(Self.closeCode(frame.payload) == WebSocketCloseCode.tokenExpired)
    }
}
