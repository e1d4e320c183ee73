/// Header value escaping (STOMP 1.1 and 1.2 "Value Encoding"): `\n`, `\c` (colon), `\\`, and in 1.2 `\r`.
/// STOMP 1.0, and the CONNECT and CONNECTED frames of every version, use no escaping.
public enum STOMPHeaderEscaping: Sendable {
    case none
    case v11
    case v12

    /// `text` with the special octets escaped.
    public func escape(_ text: String) -> String {
        guard self != .none, text.utf8.contains(where: Self.needsEscape) else { return text }
        var out = ""
        out.reserveCapacity(text.utf8.count + 8)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case ":": out += "\\c"
            case "\r" where self == .v12: out += "\\r"
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out
    }

    private static func needsEscape(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\n") || byte == UInt8(ascii: ":")
            || byte == UInt8(ascii: "\r")
    }

    /// `bytes` with escape sequences translated; `nil` for an undefined sequence, which the specification
    /// makes a fatal protocol error.
    public func unescape(_ bytes: some Collection<UInt8>) -> String? {
        guard self != .none, bytes.contains(UInt8(ascii: "\\")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var escaped = false
        for byte in bytes {
            if escaped {
                switch byte {
                case UInt8(ascii: "n"): out.append(UInt8(ascii: "\n"))
                case UInt8(ascii: "c"): out.append(UInt8(ascii: ":"))
                case UInt8(ascii: "\\"): out.append(UInt8(ascii: "\\"))
                case UInt8(ascii: "r") where self == .v12: out.append(UInt8(ascii: "\r"))
                default: return nil
                }
                escaped = false
            } else if byte == UInt8(ascii: "\\") {
                escaped = true
            } else {
                out.append(byte)
            }
        }
        return escaped ? nil : String(decoding: out, as: UTF8.self)
    }
}
