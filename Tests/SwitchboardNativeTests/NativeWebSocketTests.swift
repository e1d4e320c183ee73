import Foundation
import NIOCore
import NIOEmbedded
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardTestSupport
import Testing

@testable import SwitchboardNative

/// The native protocol over WebSocket through the whole HTTP pipeline of a connection, on an
/// `EmbeddedChannel`: the handshake, commands in and replies out, a push, a close, errors. Between the
/// session's pure traces (`NativeSessionTests`) and the integration suite (which runs the binary).
@Suite("Native protocol over WebSocket on an EmbeddedChannel")
struct NativeWebSocketTests {
    /// A connection from loopback to a fresh service with the native front end, after the handshake.
    static func opened() throws -> (channel: EmbeddedChannel, hub: Hub, answer: String) {
        var registry = WireFormatRegistry()
        let configuration = HTTPConfiguration()
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration)
        let native = NativeFrontEnd(configuration: configuration, registry: &registry)
        let hub = Hub(formats: registry)
        let service = HTTPService(
            hub: hub,
            configuration: configuration,
            formats: formats,
            frontEnds: [native]
        )
        let channel = EmbeddedChannel()
        let answer = try EmbeddedWebSocketClient.open(
            channel,
            request: EmbeddedWebSocketClient.upgradeRequest("/connection/websocket")
        ) {
            try service.installHandlers(on: $0)
        }
        return (channel, hub, answer)
    }

    /// The JSON objects of the text frames written since the last call.
    static func messages(_ channel: EmbeddedChannel) throws -> [[String: Any]] {
        try EmbeddedWebSocketClient.texts(channel).compactMap {
            try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    @Test("the handshake is answered with 101 and the accept value")
    func handshake() throws {
        let (channel, _, answer) = try Self.opened()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(answer.contains(EmbeddedWebSocketClient.acceptValue))
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("commands in, replies out; a published message comes as a push")
    func commandsAndPush() throws {
        let (channel, hub, _) = try Self.opened()
        try EmbeddedWebSocketClient.sendText(#"{"id": 1, "method": "connect"}"#, to: channel)
        let connected = try Self.messages(channel)
        #expect(connected.count == 1)
        #expect(connected.first?["id"] as? Int == 1)
        #expect((connected.first?["result"] as? [String: Any])?["client"] is String)
        try EmbeddedWebSocketClient.sendText(
            #"{"id": 2, "method": "subscribe", "params": {"channel": "news"}}"#,
            to: channel
        )
        let subscribed = try Self.messages(channel)
        #expect((subscribed.first?["result"] as? [String: Any])?["channel"] as? String == "news")
        _ = try hub.publish(PublishRequest(payload: ByteBuffer(string: "hello")), to: ChannelName(unchecked: "news"))
        channel.embeddedEventLoop.run()
        let pushes = try Self.messages(channel)
        #expect(pushes.count == 1)
        #expect(pushes.first?["push"] as? String == "message")
        #expect(pushes.first?["channel"] as? String == "news")
        #expect(pushes.first?["data"] as? String == "hello")
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("a bad command gets an error reply and the connection stays open")
    func errorReply() throws {
        let (channel, _, _) = try Self.opened()
        try EmbeddedWebSocketClient.sendText(
            #"{"id": 7, "method": "subscribe", "params": {"channel": "news"}}"#,
            to: channel
        )
        #expect((try Self.messages(channel).first?["error"] as? [String: Any])?["code"] as? Int == 102)
        #expect(channel.isActive)
        try EmbeddedWebSocketClient.sendText(#"{"id": 8, "method": "connect"}"#, to: channel)
        #expect(try Self.messages(channel).first?["result"] != nil)
        try EmbeddedWebSocketClient.sendText(#"{"id": 9, "method": "no-such-method"}"#, to: channel)
        #expect((try Self.messages(channel).first?["error"] as? [String: Any])?["code"] as? Int == 101)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }

    @Test("the client's close is answered with its code, and the connection ends")
    func close() throws {
        let (channel, _, _) = try Self.opened()
        try channel.writeInbound(EmbeddedWebSocketClient.frame(0x8, [0x03, 0xE8]))
        channel.embeddedEventLoop.run()
        let frames = try EmbeddedWebSocketClient.frames(channel)
        #expect(frames.first?.opcode == 0x8)
        #expect(frames.first?.payload.prefix(2).elementsEqual([0x03, 0xE8]) == true)
        #expect(!channel.isActive)
    }

    @Test("an unmasked client frame is a protocol error: close 1002")
    func protocolError() throws {
        let (channel, _, _) = try Self.opened()
        try channel.writeInbound(
            EmbeddedWebSocketClient.frame(0x1, Array(#"{"id": 1, "method": "connect"}"#.utf8), masked: false)
        )
        channel.embeddedEventLoop.run()
        let frames = try EmbeddedWebSocketClient.frames(channel)
        #expect(frames.count == 1)
        #expect(frames.first?.opcode == 0x8)
        #expect(frames.first?.payload.prefix(2).elementsEqual([0x03, 0xEA]) == true)
        _ = try channel.finish(acceptAlreadyClosed: true)
    }
}
