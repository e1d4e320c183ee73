import NIOCore
import NIOEmbedded
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardTestSupport
import Testing

@testable import SwitchboardSocketIO

/// Socket.IO over a WebSocket through the whole HTTP pipeline of a connection, on an `EmbeddedChannel`:
/// the Engine.IO open packet, joining the namespace, an event with an acknowledgement, a published message
/// as an event, the client's close, a malformed packet. Between the codec and state-machine traces and the
/// integration suite (which runs the binary, and the reference suites by hand).
@Suite("Socket.IO over WebSocket on an EmbeddedChannel")
struct SocketIOWebSocketTests {
    /// A connection from loopback to a fresh service with Socket.IO in front, after the handshake.
    static func opened() throws -> (channel: EmbeddedChannel, hub: Hub, answer: String) {
        var registry = WireFormatRegistry()
        var configuration = HTTPConfiguration()
        configuration.socketIO.enabled = true
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration)
        let socketIO = try #require(SocketIOFrontEnd(configuration.socketIO, registry: &registry))
        let hub = Hub(formats: registry)
        let service = HTTPService(hub: hub, configuration: configuration, formats: formats, frontEnds: [socketIO])
        let channel = EmbeddedChannel()
        let answer = try EmbeddedWebSocketClient.open(
            channel,
            request: EmbeddedWebSocketClient.upgradeRequest("/socket.io/?EIO=4&transport=websocket")
        ) {
            try service.installHandlers(on: $0)
        }
        return (channel, hub, answer)
    }

    @Test("the handshake is answered with 101, and the Engine.IO open packet comes with it")
    func handshake() throws {
        let (channel, _, answer) = try Self.opened()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains(EmbeddedWebSocketClient.acceptValue))
        #expect(answer.contains(#"0{"sid":"#))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("join the namespace, subscribe with an acknowledgement, receive a published message as an event")
    func eventsBothWays() throws {
        let (channel, hub, _) = try Self.opened()
        try EmbeddedWebSocketClient.sendText("40", to: channel)
        #expect(try EmbeddedWebSocketClient.texts(channel).first?.hasPrefix(#"40{"sid":"#) == true)
        try EmbeddedWebSocketClient.sendText(#"421["subscribe",{"channel":"news"}]"#, to: channel)
        let ack = try EmbeddedWebSocketClient.texts(channel)
        #expect(ack.count == 1)
        #expect(ack.first?.hasPrefix("431[") == true)
        #expect(ack.first?.contains(#""ok":true"#) == true)
        _ = try hub.publish(PublishRequest(payload: ByteBuffer(string: "hello")), to: ChannelName(unchecked: "news"))
        channel.embeddedEventLoop.run()
        let events = try EmbeddedWebSocketClient.texts(channel)
        #expect(events.count == 1)
        #expect(events.first?.hasPrefix(#"42["message",{"#) == true)
        #expect(events.first?.contains(#""data":"hello""#) == true)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("the client's close ends the session and the connection")
    func close() throws {
        let (channel, _, _) = try Self.opened()
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x8, [0x03, 0xE8]))
        channel.embeddedEventLoop.run()
        #expect(try EmbeddedWebSocketClient.frames(channel).last?.opcode == 0x8)
        #expect(!channel.isActive)
    }

    @Test("a malformed Engine.IO packet ends the session: the WebSocket closes")
    func malformedPacket() throws {
        let (channel, _, _) = try Self.opened()
        try EmbeddedWebSocketClient.sendText("x-not-a-packet", to: channel)
        channel.embeddedEventLoop.run()
        #expect(try EmbeddedWebSocketClient.frames(channel).last?.opcode == 0x8)
        #expect(!channel.isActive)
    }
}
