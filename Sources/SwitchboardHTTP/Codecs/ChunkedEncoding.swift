package import NIOCore

/// HTTP/1.1 chunked transfer coding (RFC 9112 §7.1), written by hand so a chunk can be encoded once and
/// sent as-is to every subscriber of a stream.
package enum ChunkedEncoding {
    /// Writes `body` as one chunk: `SIZE-IN-HEX CRLF body CRLF`.
    package static func writeChunk(into buffer: inout ByteBuffer, body: (inout ByteBuffer) -> Void) {
        // Reserve room for the size line, write the body, then fill in the size: the body is written once.
        let sizeLineStart = buffer.writerIndex
        buffer.writeStaticString("00000000\r\n")
        let bodyStart = buffer.writerIndex
        body(&buffer)
        let length = buffer.writerIndex - bodyStart
        buffer.writeStaticString("\r\n")
        var hex = String(length, radix: 16)
        hex = String(repeating: "0", count: max(0, 8 - hex.utf8.count)) + hex
        buffer.setString(hex, at: sizeLineStart)
    }

    /// The last chunk, which ends the body.
    package static let lastChunk: StaticString = "0\r\n\r\n"
}
