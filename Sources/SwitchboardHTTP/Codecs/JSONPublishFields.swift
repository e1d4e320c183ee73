import Foundation
import NIOCore
package import SwitchboardCore

/// A message described in JSON — `data` (a string is sent as text, any other JSON value as JSON) or
/// `b64data` (binary), with optional `event` and `content_type` — as `POST /api/publish` and the native
/// protocol's `publish` take it.
package enum JSONPublishFields {
    package enum Problem: Error {
        case invalidBase64
        case missingData
        case tooLarge(limit: Int)

        package var message: String {
            switch self {
            case .invalidBase64: return "b64data is not base64"
            case .missingData: return "\"data\" or \"b64data\" is required"
            case .tooLarge(let limit): return "the message is over \(limit) bytes (limits.max_message_size)"
            }
        }
    }

    package static func request(from object: [String: Any], maxMessageSize: Int) throws(Problem) -> PublishRequest {
        let event = object["event"] as? String
        var contentType = object["content_type"] as? String
        let payload: ByteBuffer
        if let encoded = object["b64data"] as? String {
            guard let bytes = Base64.decode(encoded) else { throw .invalidBase64 }
            payload = ByteBuffer(bytes: bytes)
            contentType = contentType ?? "application/octet-stream"
        } else if let text = object["data"] as? String {
            payload = ByteBuffer(string: text)
            contentType = contentType ?? "text/plain; charset=utf-8"
        } else if let value = object["data"], !(value is NSNull), let data = JSONText.encode(value) {
            payload = ByteBuffer(bytes: data)
            contentType = contentType ?? "application/json"
        } else {
            throw .missingData
        }
        guard payload.readableBytes <= maxMessageSize else { throw .tooLarge(limit: maxMessageSize) }
        return PublishRequest(payload: payload, contentType: contentType, eventType: event)
    }

    /// Writes a message's payload the same way back: `"data"` as JSON when it is a JSON document, as a
    /// string when it is other text, `"b64data"` when it is binary.
    package static func writePayload(of message: Message, into json: inout JSONWriter) {
        if isJSONDocument(message) {
            json.raw("data", message.payload)
        } else if let text = message.text {
            json.string("data", text)
        } else {
            json.string("b64data", Base64.encode(message.payload.readableBytesView))
        }
    }

    /// Whether a message's payload goes out as a JSON value: published as JSON, and valid JSON.
    package static func isJSONDocument(_ message: Message) -> Bool {
        guard message.isText, let contentType = message.contentType,
            contentType.lowercased().hasPrefix("application/json")
        else { return false }
        return
            (try? JSONSerialization.jsonObject(
                with: Data(message.payload.readableBytesView),
                options: [.fragmentsAllowed]
            )) != nil
    }
}
