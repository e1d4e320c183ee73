import Foundation
import NIOCore
import SwitchboardHTTP

/// One Socket.IO v5 packet (https://socket.io/docs/v4/socket-io-protocol/), carried in an Engine.IO
/// `message`: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`, e.g. `2["hello",1]`,
/// `21/admin,["hi"]`, `451-["file",{"_placeholder":true,"num":0}]`. The binary attachments of a
/// `BINARY_EVENT` or `BINARY_ACK` follow as separate binary Engine.IO messages. Pure codec: decoding
/// follows the reference parser (socket.io-parser 4) and refuses what it refuses.
struct SocketIOPacket {
    enum Kind: UInt8 {
        case connect = 0
        case disconnect = 1
        case event = 2
        case ack = 3
        case connectError = 4
        case binaryEvent = 5
        case binaryAck = 6

        var isBinary: Bool { self == .binaryEvent || self == .binaryAck }
    }

    /// Event names that only the library may use (a client emitting one is a protocol error).
    static let reservedEvents: Set<String> = [
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    ]

    var kind: Kind
    var namespace: String
    var id: UInt64?
    /// How many binary attachments follow (binary kinds only).
    var attachments: Int
    /// The JSON data (Foundation values: `[Any]`, `[String: Any]`, `String`, `NSNumber`, `NSNull`), with
    /// binary values as ``SocketIOBinary`` placeholders until the attachments are put back.
    var data: Any?

    init(_ kind: Kind, namespace: String = "/", id: UInt64? = nil, attachments: Int = 0, data: Any? = nil) {
        self.kind = kind
        self.namespace = namespace
        self.id = id
        self.attachments = attachments
        self.data = data
    }

    enum DecodingError: Error, Equatable, CustomStringConvertible {
        case unknownType
        case illegalAttachments
        case invalidPayload
        /// The attachments of one packet add up to more than `socketio.max_payload`.
        case attachmentsTooLarge

        var description: String {
            switch self {
            case .unknownType: return "unknown packet type"
            case .illegalAttachments: return "illegal attachments"
            case .invalidPayload: return "invalid payload"
            case .attachmentsTooLarge: return "attachments too large"
            }
        }
    }

    // MARK: Decoding

    static func decode(_ text: String, maxAttachments: Int = 10) -> Result<SocketIOPacket, DecodingError> {
        let bytes = Array(text.utf8)
        guard let first = bytes.first, first >= UInt8(ascii: "0"),
            let kind = Kind(rawValue: first - UInt8(ascii: "0"))
        else { return .failure(.unknownType) }
        var index = 1
        var packet = SocketIOPacket(kind)
        if kind.isBinary {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: "-") { index += 1 }
            guard index < bytes.count, index > start, index - start <= 6,
                let count = Int(String(decoding: bytes[start..<index], as: UTF8.self)),
                count <= maxAttachments
            else { return .failure(.illegalAttachments) }
            packet.attachments = count
            index += 1
        }
        if index < bytes.count, bytes[index] == UInt8(ascii: "/") {
            let start = index
            while index < bytes.count, bytes[index] != UInt8(ascii: ",") { index += 1 }
            packet.namespace = String(decoding: bytes[start..<index], as: UTF8.self)
            if index < bytes.count { index += 1 }  // the comma
        }
        let idStart = index
        while index < bytes.count, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(bytes[index]) { index += 1 }
        if index > idStart {
            guard index - idStart <= 15, let id = UInt64(String(decoding: bytes[idStart..<index], as: UTF8.self))
            else { return .failure(.invalidPayload) }
            packet.id = id
        }
        if index < bytes.count {
            guard
                let payload = try? JSONSerialization.jsonObject(
                    with: Data(bytes[index...]),
                    options: [.fragmentsAllowed]
                ),
                isValid(payload, for: kind)
            else { return .failure(.invalidPayload) }
            packet.data = payload
        }
        return .success(packet)
    }

    /// The reference parser's payload rules for each packet type.
    private static func isValid(_ payload: Any, for kind: Kind) -> Bool {
        switch kind {
        case .connect:
            return payload is [String: Any]
        case .disconnect:
            return false
        case .connectError:
            return payload is String || payload is [String: Any]
        case .event, .binaryEvent:
            guard let array = payload as? [Any], let first = array.first else { return false }
            if let name = first as? String { return !reservedEvents.contains(name) }
            // A numeric event name is allowed; `true` is not (on Linux `is Bool` holds for any NSNumber, so
            // JSON booleans are told apart by their storage type, `c`).
            guard let number = first as? NSNumber else { return false }
            return String(cString: number.objCType) != "c"
        case .ack, .binaryAck:
            return payload is [Any]
        }
    }

    // MARK: Encoding

    /// Sorted keys: objects decoded into dictionaries lost their order, and placeholders must read
    /// `{"_placeholder":true,"num":N}` as the reference writes them.
    private static let encodingOptions: JSONSerialization.WritingOptions = [
        .fragmentsAllowed, .withoutEscapingSlashes, .sortedKeys,
    ]

    /// The packet's text (binary attachments, if any, are sent after it).
    func encoded() -> String {
        var text = String(kind.rawValue)
        if kind.isBinary { text += "\(attachments)-" }
        if namespace != "/" { text += namespace + "," }
        if let id { text += String(id) }
        if let data, let json = try? JSONSerialization.data(withJSONObject: data, options: Self.encodingOptions) {
            text += String(decoding: json, as: UTF8.self)
        }
        return text
    }
}
