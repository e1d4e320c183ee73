import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import Testing

@testable import SwitchboardHTTP

@Suite("Codecs")
struct CodecTests {
    let allocator = ByteBufferAllocator()

    func message(_ payload: ByteBuffer, event: String? = nil, channel: String = "chat", offset: UInt64 = 7) -> Message {
        Message(
            channel: ChannelName(unchecked: channel),
            position: StreamPosition(epoch: "ep", offset: offset),
            payload: payload,
            contentType: "text/plain",
            eventType: event,
            timestamp: 1234
        )
    }

    /// Removes the chunked framing (`SIZE CRLF body CRLF`) and checks it, on bytes: Swift's `String` would
    /// treat CRLF as one character.
    func unchunk(_ buffer: ByteBuffer) throws -> String {
        let bytes = Array(buffer.readableBytesView)
        let lineEnd = try #require(bytes.firstIndex(of: 0x0D))
        let size = try #require(Int(String(decoding: bytes[..<lineEnd], as: UTF8.self), radix: 16))
        #expect(bytes[lineEnd + 1] == 0x0A)
        let body = bytes[(lineEnd + 2)...]
        #expect(body.count == size + 2)
        #expect(Array(body.suffix(2)) == [0x0D, 0x0A])
        return String(decoding: body.dropLast(2), as: UTF8.self)
    }

    @Test("SSE: id, event and one data line per payload line")
    func sse() throws {
        let encoded = SSEEncoder().encode(
            message(ByteBuffer(string: "a\nb\r\nc\rd"), event: "greet"),
            allocator: allocator
        )
        #expect(try unchunk(encoded) == "id: ep:7\nevent: greet\ndata: a\ndata: b\ndata: c\ndata: d\n\n")
    }

    @Test("SSE: binary payloads go base64, flagged by a comment")
    func sseBinary() throws {
        let encoded = SSEEncoder().encode(message(ByteBuffer(bytes: [0xFF, 0x00])), allocator: allocator)
        #expect(try unchunk(encoded) == "id: ep:7\n: base64\ndata: /wA=\n\n")
    }

    @Test("stream template placeholders")
    func template() throws {
        let encoder = StreamTemplateEncoder(template: "[~id~|~channel~|~event-type~|~content-type~|~time~] ~text~~\n")
        let encoded = encoder.encode(message(ByteBuffer(string: "hi"), event: "e"), allocator: allocator)
        #expect(try unchunk(encoded) == "[ep:7|chat|e|text/plain|1234] hi~\n")
    }

    @Test("WebSocket frames: text or binary by payload, lengths in 7, 16 and 64 bits (RFC 6455 §5.2)")
    func webSocketFrames() {
        let raw = WebSocketMessageEncoder(includesMetadata: false)
        let small = raw.encode(message(ByteBuffer(string: "hi")), allocator: allocator)
        #expect(Array(small.readableBytesView) == [0x81, 0x02, 0x68, 0x69])
        let binary = raw.encode(message(ByteBuffer(bytes: [0xFF])), allocator: allocator)
        #expect(Array(binary.readableBytesView) == [0x82, 0x01, 0xFF])
        let medium = raw.encode(message(ByteBuffer(repeating: 0x61, count: 300)), allocator: allocator)
        #expect(Array(medium.readableBytesView.prefix(4)) == [0x81, 126, 0x01, 0x2C])
        let large = raw.encode(message(ByteBuffer(repeating: 0x61, count: 70000)), allocator: allocator)
        #expect(Array(large.readableBytesView.prefix(10)) == [0x81, 127, 0, 0, 0, 0, 0, 0x01, 0x11, 0x70])
    }

    @Test("WebSocket metadata frames carry id, channel, type and event before the payload")
    func webSocketMetadata() {
        let encoded = WebSocketMessageEncoder(includesMetadata: true).encode(
            message(ByteBuffer(string: "hi"), event: "e"),
            allocator: allocator
        )
        let text = String(buffer: encoded.getSlice(at: 2, length: encoded.readableBytes - 2)!)
        #expect(text == "id: ep:7\nchannel: chat\ncontent-type: text/plain\nevent: e\n\nhi")
    }

    @Test("close frames: code then a reason cut to the control-frame limit")
    func closeFrame() {
        let frame = WebSocketFrameWriter.closeFrame(
            code: 4001,
            reason: String(repeating: "é", count: 100),
            allocator: allocator
        )
        #expect(frame.readableBytes <= 127)
        #expect(Array(frame.readableBytesView.prefix(4)) == [0x88, UInt8(frame.readableBytes - 2), 0x0F, 0xA1])
    }

    @Test("handshake accept value (RFC 6455 §1.3 example)")
    func handshake() {
        #expect(WebSocketHandshake.acceptValue(forKey: "dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
        #expect(WebSocketHandshake.isValidKey("dGhlIHNhbXBsZSBub25jZQ=="))
        #expect(!WebSocketHandshake.isValidKey("short"))
    }

    @Test("base64 round trip")
    func base64() {
        for length in 0..<10 {
            let bytes = (0..<length).map { UInt8($0 * 37 & 0xFF) }
            #expect(Base64.decode(Base64.encode(bytes)) == bytes)
        }
        #expect(Base64.encode(Array("foobar".utf8)) == "Zm9vYmFy")
        #expect(Base64.decode("!!") == nil)
    }

    @Test("JSON strings are escaped (RFC 8259 §7)")
    func json() {
        var writer = JSONWriter()
        writer.beginObject()
        writer.string("a", "q\"b\\n\n\u{1}")
        writer.string("b", nil)
        writer.integer("c", 3)
        writer.endObject()
        #expect(String(buffer: writer.buffer) == #"{"a":"q\"b\\n\n\u0001","b":null,"c":3}"#)
    }
}

@Suite("Routing")
struct RoutingTests {
    let router = Router(maxChannelNameLength: 10, maxChannelsPerSubscription: 3, echoEnabled: false)

    @Test("routes by method and path")
    func routes() {
        #expect(
            router.route(method: .GET, path: "/sub/a,b")
                == .success(.subscribe(channels: [ChannelName(unchecked: "a"), ChannelName(unchecked: "b")]))
        )
        #expect(router.route(method: .POST, path: "/pub/a") == .success(.publish(ChannelName(unchecked: "a"))))
        #expect(router.route(method: .GET, path: "/pub/a") == .success(.channelInfo(ChannelName(unchecked: "a"))))
        #expect(router.route(method: .DELETE, path: "/pub/a") == .success(.deleteChannel(ChannelName(unchecked: "a"))))
        #expect(router.route(method: .POST, path: "/api/publish") == .success(.apiPublish))
        #expect(
            router.route(method: .GET, path: "/api/history/a") == .success(.apiHistory(ChannelName(unchecked: "a")))
        )
        #expect(router.route(method: .GET, path: "/stats") == .success(.stats))
    }

    @Test("errors: 404, 405 with Allow, 400 for names and counts")
    func errors() {
        #expect(router.route(method: .GET, path: "/nope") == .failure(.notFound))
        #expect(router.route(method: .GET, path: "/echo") == .failure(.notFound))
        guard case .failure(let notAllowed) = router.route(method: .POST, path: "/sub/a") else {
            Issue.record("expected 405")
            return
        }
        #expect(notAllowed.status == .methodNotAllowed)
        #expect(notAllowed.extraHeaders.first?.0 == "Allow")
        guard case .failure(let tooLong) = router.route(method: .GET, path: "/sub/abcdefghijk") else { return }
        #expect(tooLong.code == "invalid_channel")
        guard case .failure(let tooMany) = router.route(method: .GET, path: "/sub/a,b,c,d") else { return }
        #expect(tooMany.code == "too_many_channels")
        guard case .failure(let bad) = router.route(method: .GET, path: "/sub/a%20b") else { return }
        #expect(bad.code == "invalid_channel")
    }

    @Test("the transport is picked like nchan does, and positions are per channel")
    func subscribeRequest() throws {
        let channels = [ChannelName(unchecked: "a"), ChannelName(unchecked: "b")]
        func parse(_ uri: String, _ headers: HTTPHeaders = [:]) -> Result<SubscribeRequest, HTTPError> {
            SubscribeRequest.parse(
                channels: channels,
                head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: headers),
                target: RequestTarget(uri)
            )
        }
        #expect(try parse("/sub/a,b").get().transport == .longPoll)
        #expect(try parse("/sub/a,b", ["Accept": "text/event-stream"]).get().transport == .sse)
        #expect(try parse("/sub/a,b", ["Upgrade": "websocket"]).get().transport == .webSocket)
        #expect(try parse("/sub/a,b?transport=stream").get().transport == .stream)
        let resumed = try parse("/sub/a,b?last_event_id=x:1,", ["Last-Event-ID": "y:2,y:3"]).get()
        #expect(resumed.positions == [StreamPosition(epoch: "x", offset: 1), nil])
        #expect(
            try parse("/sub/a,b", ["Last-Event-ID": "y:2,y:3"]).get().positions.compactMap { $0?.offset } == [2, 3]
        )
        guard case .failure(let error) = parse("/sub/a,b?last_event_id=x:1") else {
            Issue.record("one id for two channels must fail")
            return
        }
        #expect(error.code == "invalid_position")
    }

    @Test("percent decoding")
    func percent() {
        #expect(PercentDecoding.decode("a%3Ab") == "a:b")
        #expect(PercentDecoding.decode("a+b", plusAsSpace: true) == "a b")
        #expect(PercentDecoding.decode("%zz") == nil)
        #expect(RequestTarget("/sub/a?x=1&last_event_id=e%3A3").parameter("last_event_id") == "e:3")
    }

    @Test("query parameters are found by a scan of the raw query")
    func queryParameters() {
        let target = RequestTarget("/socket.io/?EIO=4&transport=polling&flag&empty=&a%20b=c+d&EIO=3&t=x=y")
        #expect(target.path == "/socket.io/")
        #expect(target.parameter("EIO") == "4")  // the first one
        #expect(target.parameter("transport") == "polling")
        #expect(target.parameter("flag") == "")
        #expect(target.parameter("empty") == "")
        #expect(target.parameter("a b") == "c d")
        #expect(target.parameter("t") == "x=y")
        #expect(target.parameter("sid") == nil)
        #expect(RequestTarget("/x").parameter("a") == nil)
        #expect(RequestTarget("/x?").parameter("a") == nil)
        #expect(RequestTarget("/x?&&a=1&").parameter("a") == "1")
    }
}

@Suite("JSON writer")
struct JSONWriterTests {
    @Test("strings: escapes what RFC 8259 requires, copies the rest; a JSON parser reads back the same text")
    func strings() throws {
        var generator = SystemRandomNumberGenerator()
        let pieces = ["a", "\"", "\\", "\n", "\r", "\t", "\u{01}", "\u{1F}", "é", "🙂", "/", " ", "\u{7F}"]
        var samples = ["", "plain", String(repeating: "x", count: 70_000), "\"quoted\"\\"]
        for _ in 0..<200 {
            samples.append(
                (0..<Int.random(in: 1...40, using: &generator)).map { _ in pieces.randomElement()! }.joined()
            )
        }
        for sample in samples {
            var buffer = ByteBuffer()
            JSONWriter.writeString(sample, into: &buffer)
            let text = String(buffer: buffer)
            let parsed = try JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed])
            #expect(parsed as? String == sample)
        }
        var buffer = ByteBuffer()
        JSONWriter.writeString("a\"b\\c\nd\u{01}", into: &buffer)
        #expect(String(buffer: buffer) == #""a\"b\\c\nd\u0001""#)
    }
}
