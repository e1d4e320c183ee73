import Foundation
import NIOCore
import SwitchboardCore
import SwitchboardHTTP

/// Binary values in Socket.IO data: on the wire each is a placeholder `{"_placeholder":true,"num":N}`
/// in the JSON, and the bytes follow as attachment N. In memory a binary value is a `ByteBuffer`.
enum SocketIOBinary {
    static func placeholder(_ number: Int) -> [String: Any] {
        ["_placeholder": true, "num": number]
    }

    /// Puts the attachments back in place of their placeholders; nil when a placeholder names an
    /// attachment that is not there (the reference parser's "illegal attachments").
    static func reconstruct(_ value: Any, attachments: [ByteBuffer]) -> Any? {
        switch value {
        case let object as [String: Any]:
            if object["_placeholder"] as? Bool == true {
                guard let number = (object["num"] as? NSNumber)?.intValue, attachments.indices.contains(number)
                else { return nil }
                return attachments[number]
            }
            var result: [String: Any] = [:]
            for (key, element) in object {
                guard let rebuilt = reconstruct(element, attachments: attachments) else { return nil }
                result[key] = rebuilt
            }
            return result
        case let array as [Any]:
            var result: [Any] = []
            result.reserveCapacity(array.count)
            for element in array {
                guard let rebuilt = reconstruct(element, attachments: attachments) else { return nil }
                result.append(rebuilt)
            }
            return result
        default:
            return value
        }
    }

    /// Replaces every `ByteBuffer` in `value` by a placeholder, in order, and returns the attachments.
    static func deconstruct(_ value: Any) -> (Any, [ByteBuffer]) {
        var attachments: [ByteBuffer] = []
        let result = deconstruct(value, into: &attachments)
        return (result, attachments)
    }

    private static func deconstruct(_ value: Any, into attachments: inout [ByteBuffer]) -> Any {
        switch value {
        case let buffer as ByteBuffer:
            attachments.append(buffer)
            return placeholder(attachments.count - 1)
        case let object as [String: Any]:
            return object.mapValues { deconstruct($0, into: &attachments) }
        case let array as [Any]:
            return array.map { deconstruct($0, into: &attachments) }
        default:
            return value
        }
    }

    /// `value` with its binary values as base64 strings, for the back end's JSON.
    static func base64Encoded(_ value: Any) -> Any {
        switch value {
        case let buffer as ByteBuffer:
            return ["_binary": Base64.encode(buffer.readableBytesView)]
        case let object as [String: Any]:
            return object.mapValues(base64Encoded)
        case let array as [Any]:
            return array.map(base64Encoded)
        default:
            return value
        }
    }
}
