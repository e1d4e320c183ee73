import NIOCore
import Testing

@testable import SwitchboardSTOMP

@Suite("STOMP frame codec")
struct FrameCodecTests {
    /// Decodes every frame in `bytes`, fed `chunk` bytes at a time.
    func decode(
        _ bytes: [UInt8],
        chunk: Int = .max,
        escaping: STOMPHeaderEscaping = .v12,
        limits: STOMPFrameDecoder.Limits = .init(),
        serverFrames: Bool = false
    ) throws(STOMPDecodingError) -> [STOMPFrame] {
        var decoder = STOMPFrameDecoder(limits: limits)
        if serverFrames { decoder.acceptedCommands = nil }
        decoder.escaping = escaping
        var frames: [STOMPFrame] = []
        var buffer = ByteBuffer()
        var offset = 0
        while offset < bytes.count {
            let end = min(bytes.count, offset &+ chunk)
            buffer.writeBytes(bytes[offset..<end])
            offset = end
            while let frame = try decoder.next(from: &buffer) { frames.append(frame) }
        }
        return frames
    }

    func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test("golden frames from the specification, whole and drip-fed one byte at a time")
    func goldenFrames() throws {
        let wire = bytes(
            "CONNECT\naccept-version:1.2\nhost:stomp.github.org\n\n\0"
                + "SEND\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0\n\n"
                + "SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0"
        )
        for chunk in [1, 2, 7, Int.max] {
            let frames = try decode(wire, chunk: chunk)
            #expect(frames.map(\.command) == ["CONNECT", "SEND", "SUBSCRIBE"])
            #expect(frames[0]["host"] == "stomp.github.org")
            #expect(frames[1].bodyText == "hello queue a")
            #expect(frames[1]["content-type"] == "text/plain")
            #expect(frames[2]["ack"] == "client")
        }
    }

    @Test("CRLF line ends and EOLs (heart-beats) between frames")
    func crlfAndHeartBeats() throws {
        let frames = try decode(
            bytes("\r\n\n\r\nSEND\r\ndestination:/topic/x\r\n\r\nbody\0\r\n\nDISCONNECT\n\n\0"),
            chunk: 3
        )
        #expect(frames.map(\.command) == ["SEND", "DISCONNECT"])
        #expect(frames[0]["destination"] == "/topic/x")
        #expect(frames[0].bodyText == "body")
    }

    @Test("content-length bodies may contain NULs; a missing NUL after them is an error")
    func contentLength() throws {
        var wire = bytes("SEND\ndestination:/queue/b\ncontent-length:5\n\n")
        wire += [1, 0, 2, 0, 3, 0]
        let frames = try decode(wire, chunk: 2)
        #expect(Array(frames[0].body.readableBytesView) == [1, 0, 2, 0, 3])
        #expect(throws: STOMPDecodingError.missingNull) {
            try decode(bytes("SEND\ncontent-length:2\n\nabc\0"))
        }
        #expect(throws: STOMPDecodingError.invalidContentLength("x1")) {
            try decode(bytes("SEND\ncontent-length:x1\n\n\0"))
        }
    }

    @Test("repeated headers: the first one counts")
    func repeatedHeaders() throws {
        let frames = try decode(bytes("SEND\nfoo:World\nfoo:Hello\n\n\0"))
        #expect(frames[0]["foo"] == "World")
        #expect(frames[0].headers.count == 2)
    }

    @Test("header escaping: decoded in 1.1/1.2 frames, not in CONNECT; undefined escapes are errors")
    func escaping() throws {
        let send = bytes("SEND\nkey\\cname:a\\nb\\\\c\\rd\n\n\0")
        #expect(try decode(send, escaping: .v12)[0]["key:name"] == "a\nb\\c\rd")
        #expect(throws: STOMPDecodingError.self) { try decode(send, escaping: .v11) }  // \r is 1.2 only
        #expect(try decode(send, escaping: .none)[0]["key\\cname"] == "a\\nb\\\\c\\rd")
        let connect = bytes("CONNECT\npasscode:a\\cb\n\n\0")
        #expect(try decode(connect, escaping: .v12)[0]["passcode"] == "a\\cb")
        #expect(throws: STOMPDecodingError.invalidEscape("x:a\\tb")) { try decode(bytes("SEND\nx:a\\tb\n\n\0")) }
        #expect(STOMPHeaderEscaping.v12.escape("a:b\nc\\d\re") == "a\\cb\\nc\\\\d\\re")
        #expect(STOMPHeaderEscaping.v11.escape("a\r") == "a\r")
        #expect(STOMPHeaderEscaping.none.escape("a:b") == "a:b")
    }

    @Test("limits are enforced while reading, before the whole frame arrives")
    func limits() throws {
        let limits = STOMPFrameDecoder.Limits(maxHeaderLength: 16, maxHeaders: 2, maxBodySize: 8)
        #expect(throws: STOMPDecodingError.headerTooLong(limit: 16)) {
            try decode(bytes("SEND\n" + String(repeating: "a", count: 40)), limits: limits)
        }
        #expect(throws: STOMPDecodingError.tooManyHeaders(limit: 2)) {
            try decode(bytes("SEND\na:1\nb:2\nc:3\n"), limits: limits)
        }
        #expect(throws: STOMPDecodingError.bodyTooLarge(limit: 8)) {
            try decode(bytes("SEND\ncontent-length:9\n\n"), limits: limits)
        }
        #expect(throws: STOMPDecodingError.bodyTooLarge(limit: 8)) {
            try decode(bytes("SEND\n\n0123456789"), chunk: 1, limits: limits)
        }
        #expect(throws: STOMPDecodingError.malformedHeader("nocolon")) {
            try decode(bytes("SEND\nnocolon\n\n\0"), limits: limits)
        }
        // Not STOMP at all: refused at the first line, without waiting for a NUL that never comes.
        #expect(throws: STOMPDecodingError.unknownCommand("GET / HTTP/1.1")) {
            try decode(bytes("GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
        }
        #expect(throws: STOMPDecodingError.nullInHeaders) { try decode([0, 0, 0, 0]) }
    }

    @Test("encoder: escaped headers, content-length, NUL; round trip through the decoder")
    func encoder() throws {
        var body = ByteBuffer()
        body.writeBytes([0x61, 0, 0x62])
        let frame = STOMPFrame("MESSAGE", headers: [("destination", "/topic/a:b"), ("x", "1\n2")], body: body)
        let wire = STOMPFrameEncoder.encode(frame, escaping: .v12)
        #expect(String(buffer: wire).hasPrefix("MESSAGE\ndestination:/topic/a\\cb\nx:1\\n2\ncontent-length:3\n\n"))
        let decoded = try decode(Array(wire.readableBytesView), serverFrames: true)
        #expect(decoded[0]["destination"] == "/topic/a:b")
        #expect(decoded[0]["x"] == "1\n2")
        #expect(Array(decoded[0].body.readableBytesView) == [0x61, 0, 0x62])
        let connected = STOMPFrameEncoder.encode(
            STOMPFrame("CONNECTED", headers: [("version", "1.2")]),
            escaping: .none
        )
        #expect(String(buffer: connected) == "CONNECTED\nversion:1.2\n\n\0")
    }
}
