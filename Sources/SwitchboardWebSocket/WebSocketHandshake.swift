import Crypto
import SwitchboardCore

/// The server side of the WebSocket opening handshake (RFC 6455 §4.2).
package enum WebSocketHandshake {
    /// The GUID every `Sec-WebSocket-Accept` is derived with (RFC 6455 §1.3).
    private static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `base64(SHA-1(key + GUID))`.
    package static func acceptValue(forKey key: String) -> String {
        Base64.encode(Array(Insecure.SHA1.hash(data: Array((key + guid).utf8))))
    }

    /// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of 16 bytes (RFC 6455 §4.1, item 7).
    package static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 24 && Base64.decode(key)?.count == 16
    }
}
