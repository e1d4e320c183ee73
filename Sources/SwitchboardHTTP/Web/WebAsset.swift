import NIOCore

/// A file the server serves from its own binary: switchboard.js and the chat pages (``WebAssets``).
struct WebAsset: Sendable {
    let contentType: String
    /// The file's text, in parts (the ES module is the plain script plus its exports, stored once).
    let parts: [StaticString]
    /// A strong validator for `If-None-Match`: the asset changes only with the binary.
    let etag: String
    let length: Int

    init(contentType: String, parts: [StaticString]) {
        self.contentType = contentType
        self.parts = parts
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        var length = 0
        for part in parts {
            length += part.utf8CodeUnitCount
            part.withUTF8Buffer { bytes in
                for byte in bytes {
                    hash ^= UInt64(byte)
                    hash = hash &* 0x100_0000_01b3
                }
            }
        }
        self.length = length
        self.etag = "\"" + String(hash, radix: 16) + "\""
    }

    /// The file's bytes.
    func body(allocator: ByteBufferAllocator) -> ByteBuffer {
        if parts.count == 1 { return ByteBuffer(staticString: parts[0]) }
        var buffer = allocator.buffer(capacity: length)
        for part in parts { buffer.writeStaticString(part) }
        return buffer
    }
}

/// The files of web/, embedded by scripts/embed-web (WebAssets+Generated.swift): the browser client at
/// `/switchboard.js` (plain script), `/switchboard.mjs` (ES module) and `/switchboard.d.ts` (its types),
/// the chat at `/` and its STOMP twin at `/stomp-chat`.
enum WebAssets {}
