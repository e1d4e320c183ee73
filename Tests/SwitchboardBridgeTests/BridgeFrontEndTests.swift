import NIOCore
import NIOEmbedded
import NIOHTTP1
import SwitchboardCore
import SwitchboardHTTP
import SwitchboardTestSupport
import Testing

@testable import SwitchboardBridge

/// The bridge as a front end of the HTTP pipeline, on `EmbeddedChannel`s: the browser's connection up to
/// the bridged WebSocket, and the TCP target as the channel a connector hands back (on the same loop).
/// Between the pure tests of its parts and `test_bridge.py`, which bridges to real TCP servers.
@Suite("Bridge front end on an EmbeddedChannel")
struct BridgeFrontEndTests {
    /// Hands out one embedded channel as the connected target, and remembers where it was asked to go.
    final class EmbeddedTarget: TCPConnector, @unchecked Sendable {
        let channel: EmbeddedChannel
        private(set) var asked: [String] = []

        init(loop: EmbeddedEventLoop) throws {
            channel = EmbeddedChannel(loop: loop)
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 6667)).wait()
        }

        func connect(
            host: String,
            port: Int,
            timeout: TimeAmount,
            on eventLoop: any EventLoop,
            initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
        ) -> EventLoopFuture<any Channel> {
            asked.append("\(host):\(port)")
            let channel = self.channel
            return initializer(channel).map { channel }
        }
    }

    static let route = BridgeConfiguration.Route(
        path: "/irc",
        target: BridgeAddress(host: "127.0.0.1", port: 6667)
    )

    static func bridge(_ connector: any TCPConnector) -> BridgeService {
        var configuration = BridgeConfiguration()
        configuration.routes = [route]
        return BridgeService(configuration: configuration, connector: connector)
    }

    /// A browser's connection from loopback to a service with the bridge in front, after the handshake
    /// for `/irc`; what it was answered.
    static func opened() throws -> (browser: EmbeddedChannel, target: EmbeddedTarget, answer: String) {
        let loop = EmbeddedEventLoop()
        let target = try EmbeddedTarget(loop: loop)
        var registry = WireFormatRegistry()
        let configuration = HTTPConfiguration()
        let formats = HTTPService.registerFormats(in: &registry, configuration: configuration)
        let service = HTTPService(
            hub: Hub(formats: registry),
            configuration: configuration,
            formats: formats,
            frontEnds: [bridge(target)]
        )
        let browser = EmbeddedChannel(loop: loop)
        let answer = try EmbeddedWebSocketClient.open(browser, request: EmbeddedWebSocketClient.upgradeRequest("/irc"))
        {
            try service.installHandlers(on: $0)
        }
        return (browser, target, answer)
    }

    @Test("the bridge claims its exact paths, GET only; other paths are not its")
    func claims() throws {
        let bridge = Self.bridge(try EmbeddedTarget(loop: EmbeddedEventLoop()))
        guard case .success(let route)? = bridge.claim(.GET, RoutePath("/irc")!) else {
            Issue.record("expected the bridge to claim GET /irc")
            return
        }
        #expect(route.exposure == .twoWay)
        guard case .failure(let refusal)? = bridge.claim(.POST, RoutePath("/irc")!) else {
            Issue.record("expected a 405 for POST /irc")
            return
        }
        #expect(refusal.status == .methodNotAllowed)
        #expect(bridge.claim(.GET, RoutePath("/irc/more")!) == nil)
        #expect(bridge.claim(.GET, RoutePath("/sub/irc")!) == nil)
    }

    @Test("the handshake is answered with 101 and the route's target is connected")
    func handshake() throws {
        let (browser, target, answer) = try Self.opened()
        #expect(answer.hasPrefix("HTTP/1.1 101 Switching Protocols\r\n"))
        #expect(target.asked == ["127.0.0.1:6667"])
        _ = try browser.finish(acceptAlreadyClosed: true)
    }

    @Test("bytes go both ways: a binary message to the target, the target's bytes as a binary message")
    func bytesBothWays() throws {
        let (browser, target, _) = try Self.opened()
        try browser.writeInbound(EmbeddedWebSocketClient.frame(0x2, Array("NICK a\r\n".utf8)))
        #expect(try EmbeddedWebSocketClient.written(target.channel) == Array("NICK a\r\n".utf8))
        try target.channel.writeInbound(ByteBuffer(string: "PING x"))
        target.channel.pipeline.fireChannelReadComplete()
        #expect(try EmbeddedWebSocketClient.written(browser) == [0x82, 6] + Array("PING x".utf8))
        _ = try browser.finish(acceptAlreadyClosed: true)
    }

    @Test("the target closing ends the WebSocket with 1000 and why")
    func targetCloses() throws {
        let (browser, target, _) = try Self.opened()
        try target.channel.close().wait()
        let frame = try EmbeddedWebSocketClient.written(browser)
        #expect(frame.first == 0x88)
        #expect(Array(frame.dropFirst(2).prefix(2)) == [0x03, 0xE8])
        #expect(String(decoding: frame.dropFirst(4), as: UTF8.self) == "the target closed the connection")
        _ = try browser.finish(acceptAlreadyClosed: true)
    }

    @Test("a text frame on a binary route fails with 1003, and the target's connection closes")
    func textRefused() throws {
        let (browser, target, _) = try Self.opened()
        try browser.writeInbound(EmbeddedWebSocketClient.frame(0x1, Array("hi".utf8)))
        let frame = try EmbeddedWebSocketClient.written(browser)
        #expect(frame.first == 0x88)
        #expect(Array(frame.dropFirst(2).prefix(2)) == [0x03, 0xEB])
        #expect(!target.channel.isActive)
        _ = try browser.finish(acceptAlreadyClosed: true)
    }
}
