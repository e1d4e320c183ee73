import NIOHTTP1
import Testing

@testable import SwitchboardWebSocket

@Suite("WebSocketHandshake")
struct WebSocketHandshakeTests {
    static let valid: HTTPHeaders = [
        "Upgrade": "websocket",
        "Connection": "keep-alive, Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    ]

    @Test("a valid request gets the RFC 6455 §1.3 accept value; tokens are matched without case")
    func accepts() {
        #expect(WebSocketHandshake.accept(Self.valid) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
        var shouted = Self.valid
        shouted.replaceOrAdd(name: "Upgrade", value: "WebSocket")
        #expect(WebSocketHandshake.accept(shouted) == .success("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="))
    }

    @Test("refusals: not an upgrade, another version, a bad key")
    func refuses() {
        var plain = Self.valid
        plain.remove(name: "Connection")
        #expect(WebSocketHandshake.accept(plain) == .failure(.notAnUpgrade))
        var version = Self.valid
        version.replaceOrAdd(name: "Sec-WebSocket-Version", value: "8")
        #expect(WebSocketHandshake.accept(version) == .failure(.unsupportedVersion))
        var key = Self.valid
        key.replaceOrAdd(name: "Sec-WebSocket-Key", value: "short")
        #expect(WebSocketHandshake.accept(key) == .failure(.invalidKey))
        key.remove(name: "Sec-WebSocket-Key")
        #expect(WebSocketHandshake.accept(key) == .failure(.invalidKey))
    }
}
