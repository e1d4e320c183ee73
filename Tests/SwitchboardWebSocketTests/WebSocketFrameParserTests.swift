import NIOCore
import NIOWebSocket
import SwitchboardCore
import Testing

@testable import SwitchboardWebSocket

@Suite("WebSocketFrameParser")
struct WebSocketFrameParserTests {
    let parser = WebSocketFrameParser(maxFrameSize: 1000)

    /// RFC 6455 §5.7: a single-frame masked text message "Hello".
    let maskedHello: [UInt8] = [0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58]

    @Test("parses the RFC 6455 §5.7 example, byte by byte as it arrives")
    func rfcExample() throws {
        var buffer = ByteBuffer()
        for (index, byte) in maskedHello.enumerated() {
            buffer.writeInteger(byte)
            let frame = try parser.nextFrame(from: &buffer)
            if index < maskedHello.count - 1 {
                #expect(frame == nil)
            } else {
                let frame = try #require(frame)
                #expect(frame.fin && frame.opcode == .text)
                #expect(String(buffer: frame.unmaskedData) == "Hello")
                #expect(buffer.readableBytes == 0)
            }
        }
    }

    @Test("several frames in one read; 16-bit lengths")
    func severalFrames() throws {
        var buffer = ByteBuffer(bytes: maskedHello + maskedHello)
        buffer.writeBytes([0x82, 0x80 | 126, 0x01, 0x00, 0, 0, 0, 0] + [UInt8](repeating: 7, count: 256))
        #expect(try parser.nextFrame(from: &buffer)?.opcode == .text)
        #expect(try parser.nextFrame(from: &buffer)?.opcode == .text)
        let binary = try #require(try parser.nextFrame(from: &buffer))
        #expect(binary.opcode == .binary && binary.length == 256)
        #expect(try parser.nextFrame(from: &buffer) == nil)
    }

    @Test("a frame over the limit is refused from its header alone")
    func tooLarge() {
        var buffer = ByteBuffer(bytes: [0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 0])
        #expect(throws: WebSocketFrameParser.ParseError.frameTooLarge) { try parser.nextFrame(from: &buffer) }
        var invalid = ByteBuffer(bytes: [0x82, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1])
        #expect(throws: WebSocketFrameParser.ParseError.invalidLength) { try parser.nextFrame(from: &invalid) }
    }

    @Test("reserved bits and unmasked frames are reported to the state machine, not dropped")
    func flagsPassThrough() throws {
        var buffer = ByteBuffer(bytes: [0xC1, 0x01, 0x41])
        let frame = try #require(try parser.nextFrame(from: &buffer))
        #expect(frame.rsv1 && frame.maskKey == nil)
    }

    @Test(
        "unmasking eight bytes at a time gives what NIO's byte-wise unmasking gives",
        arguments: [0, 1, 7, 8, 9, 63, 1000, 65_537]
    )
    func wordUnmasking(_ size: Int) {
        var generator = SystemRandomNumberGenerator()
        let bytes = (0..<size).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let key = WebSocketMaskingKey([0x37, 0xFA, 0x21, 0x3D])
        let frame = WebSocketFrame(fin: true, opcode: .binary, maskKey: key, data: ByteBuffer(bytes: bytes))
        #expect(frame.payload == frame.unmaskedData)
        #expect(
            WebSocketFrame(fin: true, opcode: .binary, data: ByteBuffer(bytes: bytes)).payload
                == ByteBuffer(bytes: bytes)
        )
    }
}
