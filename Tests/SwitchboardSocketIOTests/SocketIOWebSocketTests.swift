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
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 40000)).wait()
        try service.installHandlers(on: channel)
        try channel.writeInbound(EmbeddedWebSocketClient.upgradeRequest("/socket.io/?EIO=4&transport=websocket"))
        channel.embeddedEventLoop.run()
        var answer = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { answer += String(buffer: part) }
        return (channel, hub, answer)
    }

    /// Sends one Engine.IO packet as a text message.
    static func send(_ packet: String, to channel: EmbeddedChannel) throws {
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x1, Array(packet.utf8)))
        channel.embeddedEventLoop.run()
    }

    /// The text messages (Engine.IO packets) written since the last call.
    static func packets(_ channel: EmbeddedChannel) throws -> [String] {
        try EmbeddedWebSocketClient.frames(channel).filter { $0.opcode == 0x1 }.map {
            String(decoding: $0.payload, as: UTF8.self)
        }
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
        try Self.send("40", to: channel)
        #expect(try Self.packets(channel).first?.hasPrefix(#"40{"sid":"#) == true)
        try Self.send(#"421["subscribe",{"channel":"news"}]"#, to: channel)
        let ack = try Self.packets(channel)
        #expect(ack.count == 1)
        #expect(ack.first?.hasPrefix("431[") == true)
        #expect(ack.first?.contains(#""ok":true"#) == true)
        _ = try hub.publish(PublishRequest(payload: ByteBuffer(string: "hello")), to: ChannelName(unchecked: "news"))
        channel.embeddedEventLoop.run()
        let events = try Self.packets(channel)
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
        try Self.send("x-not-a-packet", to: channel)
        channel.embeddedEventLoop.run()
        #expect(try EmbeddedWebSocketClient.frames(channel).last?.opcode == 0x8)
        #expect(!channel.isActive)
    }
}
