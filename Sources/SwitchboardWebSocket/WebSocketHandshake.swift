import Crypto
package import NIOHTTP1
import SwitchboardCore

/// The server side of the WebSocket opening handshake (RFC 6455 §4.2).
package enum WebSocketHandshake {
    /// The GUID every `Sec-WebSocket-Accept` is derived with (RFC 6455 §1.3).
    private static let guid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    /// `base64(SHA-1(key + GUID))`.
    package static func acceptValue(forKey key: String) -> String {
        Base64.encode(Array(Insecure.SHA1.hash(data: Array((key + guid).utf8))))
    }

    /// Why an upgrade request is refused.
    package enum Refusal: Error, Equatable {
        /// No `Upgrade: websocket` with `Connection: Upgrade`.
        case notAnUpgrade
        /// `Sec-WebSocket-Version` is not 13.
        case unsupportedVersion
        /// `Sec-WebSocket-Key` is missing or not base64 of 16 bytes.
        case invalidKey
    }

    /// Checks an upgrade request's headers (RFC 6455 §4.2.1): the `Sec-WebSocket-Accept` value to answer
    /// with, or why the request is refused.
    package static func accept(_ headers: HTTPHeaders) -> Result<String, Refusal> {
        guard headers[canonicalForm: "upgrade"].contains(where: { $0.lowercased() == "websocket" }),
            headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "upgrade" })
        else { return .failure(.notAnUpgrade) }
        guard headers.first(name: "sec-websocket-version") == "13" else { return .failure(.unsupportedVersion) }
        guard let key = headers.first(name: "sec-websocket-key"), isValidKey(key) else {
            return .failure(.invalidKey)
        }
        return .success(acceptValue(forKey: key))
    }

    /// Whether `key` is a valid `Sec-WebSocket-Key`: base64 of 16 bytes (RFC 6455 §4.1, item 7).
    package static func isValidKey(_ key: String) -> Bool {
        key.utf8.count == 24 && Base64.decode(key)?.count == 16
    }
}
