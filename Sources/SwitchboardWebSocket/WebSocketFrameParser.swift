package import NIOCore
package import NIOWebSocket

/// Parses client-to-server WebSocket frames (RFC 6455 §5.2) out of received bytes, enforcing the frame
/// size limit before any payload is buffered.
///
/// ```
///  bytes ─▶ WebSocketFrameParser.nextFrame(from:) ─▶ WebSocketFrame ─▶ WebSocketFrameAssembler
/// ```
///
/// Written here rather than using NIO's decoder handler so an idle connection carries one handler, not
/// two plus a decoder's buffers: memory per idle subscriber is a product requirement.
package struct WebSocketFrameParser {
    /// Why bytes could not be parsed.
    package enum ParseError: Error, Equatable {
        /// The frame announces more payload than `maxFrameSize` (close 1009).
        case frameTooLarge
        /// A 64-bit length with its top bit set (RFC 6455 §5.2: "the most significant bit MUST be 0").
        case invalidLength
    }

    package let maxFrameSize: Int

    package init(maxFrameSize: Int) {
        self.maxFrameSize = maxFrameSize
    }

    /// The next complete frame at the reader index of `buffer` (consumed), or `nil` when more bytes are needed.
    package func nextFrame(from buffer: inout ByteBuffer) throws(ParseError) -> WebSocketFrame? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self),
            let second = buffer.getInteger(at: start + 1, as: UInt8.self)
        else { return nil }
        var offset = 2
        var length = UInt64(second & 0x7F)
        if length == 126 {
            guard let extended = buffer.getInteger(at: start + offset, as: UInt16.self) else { return nil }
            length = UInt64(extended)
            offset += 2
        } else if length == 127 {
            guard let extended = buffer.getInteger(at: start + offset, as: UInt64.self) else { return nil }
            guard extended >> 63 == 0 else { throw .invalidLength }
            length = extended
            offset += 8
        }
        guard length <= UInt64(maxFrameSize) else { throw .frameTooLarge }
        var maskKey: WebSocketMaskingKey?
        if second & 0x80 != 0 {
            guard let bytes = buffer.getBytes(at: start + offset, length: 4) else { return nil }
            maskKey = WebSocketMaskingKey(bytes)
            offset += 4
        }
        guard let data = buffer.getSlice(at: start + offset, length: Int(length)) else { return nil }
        buffer.moveReaderIndex(forwardBy: offset + Int(length))
        return WebSocketFrame(
            fin: first & 0x80 != 0,
            rsv1: first & 0x40 != 0,
            rsv2: first & 0x20 != 0,
            rsv3: first & 0x10 != 0,
            opcode: WebSocketOpcode(encodedWebSocketOpcode: first & 0x0F)!,
            maskKey: maskKey,
            data: data
        )
    }
}
