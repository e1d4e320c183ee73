import NIOCore
import NIOEmbedded
import SwitchboardCore
import Testing

@testable import SwitchboardHTTP

/// The whole HTTP pipeline of a connection on an `EmbeddedChannel`, up to a `/sub` WebSocket: the
/// handshake, a published message out, a close, a protocol error. Between the pure traces and the
/// integration suite (which runs the binary).
@Suite("/sub WebSocket on an EmbeddedChannel")
struct WebSocketSubscriberTests {
    static let upgrade =
        "GET /sub/news HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"

    /// A connection from loopback to a fresh service, after the upgrade request.
    static func upgraded() throws -> (EmbeddedChannel, HTTPService, answer: String) {
        var registry = WireFormatRegistry()
        let configuration = HTTPConfiguration()
        let registration = HTTPService.register(in: &registry, configuration: configuration)
        let service = HTTPService(
            hub: Hub(formats: registry),
            configuration: configuration,
            registration: registration
        )
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        try service.installHandlers(on: channel)
        try channel.writeInbound(ByteBuffer(string: upgrade))
        let subscribed = service.hub.info(ChannelName(unchecked: "news"))?.subscribers ?? 0
        channel.embeddedEventLoop.run()  // the request decoder leaves the pipeline on the next turn
        var answer = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { answer += String(buffer: part) }
        #expect(subscribed == 1, "the handlers went in with the 101, before any event-loop turn")
        return (channel, service, answer)
    }

    /// A masked client frame (RFC 6455 §5.3).
    static func clientFrame(_ opcode: UInt8, _ payload: [UInt8]) -> ByteBuffer {
        let key: [UInt8] = [1, 2, 3, 4]
        var buffer = ByteBuffer()
        buffer.writeInteger(0x80 | opcode)
        buffer.writeInteger(0x80 | UInt8(payload.count))
        buffer.writeBytes(key)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ key[$0.offset % 4] })
        return buffer
    }

    /// The bytes written since the last call.
    static func written(_ channel: EmbeddedChannel) throws -> [UInt8] {
        var bytes: [UInt8] = []
        while let part = try channel.readOutbound(as: ByteBuffer.self) { bytes += Array(part.readableBytesView) }
        return bytes
    }

    @Test("the handshake is answered with 101 and the accept value; the subscription exists at once")
    func handshake() throws {
        let (channel, _, answer) = try Self.upgraded()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("a published message goes out as one text frame")
    func messageOut() throws {
        let (channel, service, _) = try Self.upgraded()
        _ = try service.hub.publish(
            PublishRequest(payload: ByteBuffer(string: "hello")),
            to: ChannelName(unchecked: "news")
        )
        channel.embeddedEventLoop.run()
        #expect(try Self.written(channel) == [0x81, 5] + Array("hello".utf8))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("the client's close is answered with its code and the subscription ends")
    func close() throws {
        let (channel, service, _) = try Self.upgraded()
        try channel.writeInbound(Self.clientFrame(0x8, [0x03, 0xE8]))
        #expect(try Self.written(channel) == [0x88, 2, 0x03, 0xE8])
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect((service.hub.info(ChannelName(unchecked: "news"))?.subscribers ?? 0) == 0)
    }

    @Test("an unmasked frame is a protocol error: close 1002")
    func protocolError() throws {
        let (channel, _, _) = try Self.upgraded()
        try channel.writeInbound(ByteBuffer(bytes: [0x81, 0x02, 0x68, 0x69]))
        let bytes = try Self.written(channel)
        #expect(bytes.count >= 4 && bytes[0] == 0x88 && bytes[2] == 0x03 && bytes[3] == 0xEA)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
