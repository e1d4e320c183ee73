/// The validated name of a channel: the one namespace that every front end shares.
///
/// Names are 1...`maxLength` bytes of `A-Z a-z 0-9 _ - . : @ ~ + !`. The set leaves out `,` (it separates
/// the channels of a multi-channel subscription), `=`, `/`, `?`, `#`, `%` and spaces, so a name never needs
/// escaping in a URL path, an SSE field or a STOMP header.
public struct ChannelName: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// The name as given.
    public let rawValue: String

    /// The default limit on a name's length in bytes.
    public static let defaultMaxLength = 255

    /// Validates `name`; throws a ``ChannelNameError`` that says what is wrong with it.
    public init(
        validating name: some StringProtocol,
        maxLength: Int = ChannelName.defaultMaxLength
    ) throws(ChannelNameError) {
        let utf8 = name.utf8
        guard !utf8.isEmpty else { throw .empty }
        guard utf8.count <= maxLength else { throw .tooLong(length: utf8.count, limit: maxLength) }
        for byte in utf8 where !Self.isAllowed(byte) {
            throw .invalidCharacter(Character(Unicode.Scalar(byte)))
        }
        self.rawValue = String(name)
    }

    /// Builds a name without validation, for names that come from this process (tests, config).
    public init(unchecked name: String) {
        self.rawValue = name
    }

    public var description: String { rawValue }

    public static func < (lhs: ChannelName, rhs: ChannelName) -> Bool { lhs.rawValue < rhs.rawValue }

    @inline(__always)
    static func isAllowed(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            return true
        case UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: ":"), UInt8(ascii: "@"),
            UInt8(ascii: "~"), UInt8(ascii: "+"), UInt8(ascii: "!"):
            return true
        default:
            return false
        }
    }
}

/// Why a string is not a valid ``ChannelName``.
public enum ChannelNameError: Error, Equatable, Sendable, CustomStringConvertible {
    case empty
    case tooLong(length: Int, limit: Int)
    case invalidCharacter(Character)

    public var description: String {
        switch self {
        case .empty:
            return "channel name is empty"
        case .tooLong(let length, let limit):
            return "channel name is \(length) bytes long, the limit is \(limit)"
        case .invalidCharacter(let character):
            let shown =
                character.isASCII && !character.isWhitespace
                ? "'\(character)'" : "byte \(character.asciiValue.map(String.init) ?? "?")"
            return "channel name contains \(shown); allowed are letters, digits and _ - . : @ ~ + !"
        }
    }
}
