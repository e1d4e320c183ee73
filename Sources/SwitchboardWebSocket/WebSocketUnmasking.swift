package import NIOCore
import NIOWebSocket

extension WebSocketFrame {
    /// The payload unmasked eight bytes at a time (RFC 6455 §5.3): NIO's `unmaskedData` goes byte by byte
    /// with a modulo per byte, which made unmasking the dearest part of receiving large messages.
    package var payload: ByteBuffer {
        guard let key = maskKey else { return data }
        var buffer = data
        let keyBytes = (key[0], key[1], key[2], key[3])
        var word: UInt64 = 0
        withUnsafeMutableBytes(of: &word) { bytes in
            for index in 0..<8 {
                switch index % 4 {
                case 0: bytes[index] = keyBytes.0
                case 1: bytes[index] = keyBytes.1
                case 2: bytes[index] = keyBytes.2
                default: bytes[index] = keyBytes.3
                }
            }
        }
        buffer.withUnsafeMutableReadableBytes { bytes in
            let count = bytes.count
            var index = 0
            while index + 8 <= count {
                let value = bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self)
                bytes.storeBytes(of: value ^ word, toByteOffset: index, as: UInt64.self)
                index += 8
            }
            while index < count {
                bytes[index] ^= key[index % 4]
                index += 1
            }
        }
        return buffer
    }
}
