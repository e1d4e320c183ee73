import NIOCore

/// A file the server serves from its own binary: switchboard.js and the chat pages (``WebAssets``).
struct WebAsset: Sendable {
    let contentType: String
    let body: StaticString
    /// A strong validator for `If-None-Match`: the asset changes only with the binary.
    let etag: String

    init(contentType: String, body: StaticString) {
        self.contentType = contentType
        self.body = body
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325  // FNV-1a
        body.withUTF8Buffer { bytes in
            for byte in bytes {
                hash ^= UInt64(byte)
                hash = hash &* 0x100_0000_01b3
            }
        }
        self.etag = "\"" + String(hash, radix: 16) + "\""
    }
}

/// The files of web/, embedded by scripts/embed-web (WebAssets+Generated.swift): the browser client at
/// `/switchboard.js` (plain script), `/switchboard.mjs` (ES module) and `/switchboard.d.ts` (its types),
/// the chat at `/` and its STOMP twin at `/stomp-chat`.
enum WebAssets {}
