public import NIOCore

/// One value of the Redis serialization protocol, version 3 (RESP3; RESP2's five types are a subset).
///
/// Strings that carry data (bulk strings, verbatim strings) stay bytes: a stored message's payload is
/// binary. Simple strings and errors are text by the protocol's definition ("cannot contain CR or LF").
public enum RESPValue: Sendable, Equatable {
    /// `+OK` — a short status line.
    case simpleString(String)
    /// `-ERR ...` or `!<len>` — an error reply, as text ("ERR unknown command", "MOVED 3999 127.0.0.1:6381").
    case error(String)
    /// `:42`
    case integer(Int64)
    /// `$<len>` — binary-safe bytes.
    case bulkString(ByteBuffer)
    /// `=<len>` — a bulk string with a three-letter format ("txt", "mkd"), which is dropped.
    case verbatimString(ByteBuffer)
    /// `_`, and RESP2's `$-1` and `*-1`.
    case null
    /// `#t` / `#f`
    case boolean(Bool)
    /// `,3.14` (and `inf`, `-inf`, `nan`).
    case double(Double)
    /// `(3492890328409238509324850943850943825024385` — kept as its digits.
    case bigNumber(String)
    /// `*<n>`
    case array([RESPValue])
    /// `~<n>` — a set (order as sent).
    case set([RESPValue])
    /// `%<n>` — a map, as its pairs in the order sent.
    case map([RESPPair])
    /// `><n>` — out-of-band data: pub/sub messages and subscription confirmations on a RESP3 connection.
    case push([RESPValue])
}

/// A key and value of a RESP3 map.
public struct RESPPair: Sendable, Equatable {
    public var key: RESPValue
    public var value: RESPValue

    public init(_ key: RESPValue, _ value: RESPValue) {
        self.key = key
        self.value = value
    }
}

extension RESPValue {
    /// The value as text: simple, bulk and verbatim strings (UTF-8, with invalid bytes replaced), integers.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes), .verbatimString(let bytes): return String(buffer: bytes)
        case .integer(let value): return String(value)
        default: return nil
        }
    }

    /// The value as an integer: integers, and strings of decimal digits (Redis answers `HGET` of a counter
    /// with a bulk string).
    public var integer: Int64? {
        switch self {
        case .integer(let value): return value
        case .simpleString, .bulkString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The bytes of a bulk or verbatim string (or of a simple string).
    public var bytes: ByteBuffer? {
        switch self {
        case .bulkString(let bytes), .verbatimString(let bytes): return bytes
        case .simpleString(let text): return ByteBuffer(string: text)
        default: return nil
        }
    }

    /// The elements of an array, set or push; a map's keys and values in turn (RESP2 sends maps as flat
    /// arrays, so code that reads either protocol reads this).
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): return values
        case .map(let pairs): return pairs.flatMap { [$0.key, $0.value] }
        default: return nil
        }
    }

    /// Whether this is an error reply.
    public var isError: Bool {
        if case .error = self { return true }
        return false
    }

    /// Whether this is `null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}
