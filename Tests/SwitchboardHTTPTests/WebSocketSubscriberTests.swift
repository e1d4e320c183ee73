import NIOCore
import NIOEmbedded
import SwitchboardCore
import SwitchboardTestSupport
import Testing

@testable import SwitchboardHTTP

/// The whole HTTP pipeline of a connection on an `EmbeddedChannel`, up to a `/sub` WebSocket: the
/// handshake, a published message out, a close, a protocol error. Between the pure traces and the
/// integration suite (which runs the binary).
@Suite("/sub WebSocket on an EmbeddedChannel")
struct WebSocketSubscriberTests {
    /// A connection from loopback to a fresh service, after the upgrade request.
    static func upgraded() throws -> (EmbeddedChannel, HTTPService, answer: String) {
        var registry = WireFormatRegistry()
        let configuration = HTTPConfiguration()
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration)
        let service = HTTPService(
            hub: Hub(formats: registry),
            configuration: configuration,
            formats: formats
        )
        let channel = EmbeddedChannel()
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        try service.installHandlers(on: channel)
        try channel.writeInbound(EmbeddedWebSocketClient.upgradeRequest("/sub/news"))
        let subscribed = service.hub.info(ChannelName(unchecked: "news"))?.subscribers ?? 0
        channel.embeddedEventLoop.run()  // the request decoder leaves the pipeline on the next turn
        var answer = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { answer += String(buffer: part) }
        #expect(subscribed == 1, "the handlers went in with the 101, before any event-loop turn")
        return (channel, service, answer)
    }

    @Test("the handshake is answered with 101 and the accept value; the subscription exists at once")
    func handshake() throws {
        let (channel, _, answer) = try Self.upgraded()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains(EmbeddedWebSocketClient.acceptValue))
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
        #expect(try EmbeddedWebSocketClient.written(channel) == [0x81, 5] + Array("hello".utf8))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("the client's close is answered with its code and the subscription ends")
    func close() throws {
        let (channel, service, _) = try Self.upgraded()
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x8, [0x03, 0xE8]))
        #expect(try EmbeddedWebSocketClient.written(channel) == [0x88, 2, 0x03, 0xE8])
        channel.embeddedEventLoop.run()
        #expect(!channel.isActive)
        #expect((service.hub.info(ChannelName(unchecked: "news"))?.subscribers ?? 0) == 0)
    }

    @Test("an unmasked frame is a protocol error: close 1002")
    func protocolError() throws {
        let (channel, _, _) = try Self.upgraded()
        try channel.writeInbound(ByteBuffer(bytes: [0x81, 0x02, 0x68, 0x69]))
        let bytes = try EmbeddedWebSocketClient.written(channel)
        #expect(bytes.count >= 4 && bytes[0] == 0x88 && bytes[2] == 0x03 && bytes[3] == 0xEA)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
