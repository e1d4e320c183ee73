public import NIOCore

/// A command to Redis: its name and arguments, sent as a RESP array of bulk strings.
///
/// ```
/// RESPCommand("HGET", "sb:{news}:m", "s")  ->  "*3\r\n$4\r\nHGET\r\n$11\r\nsb:{news}:m\r\n$1\r\ns\r\n"
/// ```
public struct RESPCommand: Sendable, CustomStringConvertible {
    /// One argument: text, bytes (a message payload) or a number, all sent as bulk strings.
    public enum Argument: Sendable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
        case string(String)
        case bytes(ByteBuffer)
        case integer(Int64)

        public init(stringLiteral value: String) { self = .string(value) }
        public init(integerLiteral value: Int64) { self = .integer(value) }
    }

    /// The name and then the arguments.
    public var arguments: [Argument]

    /// Creates a command from its name and arguments.
    public init(_ name: String, _ arguments: Argument...) {
        self.init(name, arguments: arguments)
    }

    /// Creates a command from its name and an array of arguments.
    public init(_ name: String, arguments: [Argument]) {
        self.arguments = [.string(name)] + arguments
    }

    /// The command's name, upper-cased ("SSUBSCRIBE").
    public var name: String {
        guard case .string(let name) = arguments.first else { return "" }
        return name.uppercased()
    }

    /// Writes the command to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeStaticString("*")
        buffer.writeString(String(arguments.count))
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            switch argument {
            case .string(let text):
                buffer.writeStaticString("$")
                buffer.writeString(String(text.utf8.count))
                buffer.writeStaticString("\r\n")
                buffer.writeString(text)
            case .bytes(let bytes):
                buffer.writeStaticString("$")
                buffer.writeString(String(bytes.readableBytes))
                buffer.writeStaticString("\r\n")
                buffer.writeImmutableBuffer(bytes)
            case .integer(let value):
                let text = String(value)
                buffer.writeStaticString("$")
                buffer.writeString(String(text.utf8.count))
                buffer.writeStaticString("\r\n")
                buffer.writeString(text)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// The command as a log shows it: the name and the count of arguments, never their values (a password,
    /// a payload).
    public var description: String { "\(name) (\(arguments.count - 1) arguments)" }
}
