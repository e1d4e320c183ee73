import NIOCore
import NIOEmbedded
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardTestSupport
import Testing

@testable import SwitchboardSTOMP

/// STOMP over WebSocket (`/stomp`) through the whole HTTP pipeline of a connection, on an
/// `EmbeddedChannel`: the handshake with its subprotocol, frames in and out (one per message), a topic
/// message, the client's close, a frame the broker refuses. Between the session traces and the
/// integration suite (which runs the binary with stomp.py and stomp.js).
@Suite("STOMP over WebSocket on an EmbeddedChannel")
struct STOMPWebSocketTests {
    /// A connection from loopback to a fresh service with the STOMP front end, after a handshake that
    /// offers `v12.stomp`.
    static func opened() throws -> (channel: EmbeddedChannel, hub: Hub, answer: String) {
        var registry = WireFormatRegistry()
        let configuration = HTTPConfiguration()
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration)
        let stompFormats = STOMPService.registerFormats(in: &registry)
        let hub = Hub(formats: registry)
        let stomp = STOMPService(hub: hub, configuration: STOMPConfiguration(), formats: stompFormats)
        let service = HTTPService(
            hub: hub,
            configuration: configuration,
            formats: formats,
            frontEnds: [STOMPFrontEnd(stomp: stomp)]
        )
        let request = EmbeddedWebSocketClient.upgradeRequest(
            "/stomp",
            headers: "Sec-WebSocket-Protocol: v10.stomp, v12.stomp\r\n"
        )
        let channel = EmbeddedChannel()
        let answer = try EmbeddedWebSocketClient.open(channel, request: request) {
            try service.installHandlers(on: $0)
        }
        return (channel, hub, answer)
    }

    @Test("the handshake is answered with 101 and the best STOMP version offered")
    func handshake() throws {
        let (channel, _, answer) = try Self.opened()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains("Sec-WebSocket-Protocol: v12.stomp\r\n"))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("CONNECT, SUBSCRIBE, and a published message arrives as a MESSAGE frame")
    func framesBothWays() throws {
        let (channel, hub, _) = try Self.opened()
        try EmbeddedWebSocketClient.sendText("CONNECT\naccept-version:1.2\nhost:x\n\n\0", to: channel)
        #expect(try EmbeddedWebSocketClient.texts(channel).first?.hasPrefix("CONNECTED\n") == true)
        try EmbeddedWebSocketClient.sendText("SUBSCRIBE\nid:0\ndestination:/topic/news\nreceipt:r1\n\n\0", to: channel)
        #expect(try EmbeddedWebSocketClient.texts(channel).first?.hasPrefix("RECEIPT\nreceipt-id:r1\n") == true)
        _ = try hub.publish(PublishRequest(payload: ByteBuffer(string: "hello")), to: ChannelName(unchecked: "news"))
        channel.embeddedEventLoop.run()
        let messages = try EmbeddedWebSocketClient.texts(channel)
        #expect(messages.count == 1)
        #expect(messages.first?.hasPrefix("MESSAGE\n") == true)
        #expect(messages.first?.contains("destination:/topic/news\n") == true)
        #expect(messages.first?.hasSuffix("\n\nhello\0") == true)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("the client's close is answered with its code, and the connection ends")
    func close() throws {
        let (channel, _, _) = try Self.opened()
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x8, [0x03, 0xE8]))
        channel.embeddedEventLoop.run()
        let frames = try EmbeddedWebSocketClient.frames(channel)
        #expect(frames.last?.opcode == 0x8)
        #expect(frames.last?.payload.prefix(2).elementsEqual([0x03, 0xE8]) == true)
        #expect(!channel.isActive)
    }

    @Test("a frame the broker refuses gets an ERROR frame, then the WebSocket closes")
    func refusedFrame() throws {
        let (channel, _, _) = try Self.opened()
        try EmbeddedWebSocketClient.sendText("SUBSCRIBE\nid:0\ndestination:/topic/news\n\n\0", to: channel)
        let written = try EmbeddedWebSocketClient.frames(channel)
        #expect(written.first?.opcode == 0x1)
        #expect(written.first.map { String(decoding: $0.payload, as: UTF8.self).hasPrefix("ERROR\n") } == true)
        #expect(written.last?.opcode == 0x8)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
