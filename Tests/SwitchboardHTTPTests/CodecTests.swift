import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardCore
import SwitchboardWebSocket
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
