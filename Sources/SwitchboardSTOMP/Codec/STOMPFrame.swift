public import NIOCore

/// One STOMP frame: a command, ordered headers (repeats kept, the first one counts) and a body.
public struct STOMPFrame: Sendable {
    /// The command as received (unknown commands are kept so the error can name them).
    public var command: String
    /// The headers in wire order, already unescaped.
    public var headers: [(name: String, value: String)]
    /// The body (possibly empty).
    public var body: ByteBuffer

    /// Creates a frame.
    public init(_ command: String, headers: [(name: String, value: String)] = [], body: ByteBuffer = ByteBuffer()) {
        self.command = command
        self.headers = headers
        self.body = body
    }

    /// The value of the first header called `name` (STOMP 1.2 §"Repeated Header Entries": only the first
    /// counts).
    public subscript(_ name: String) -> String? {
        for header in headers where header.name == name { return header.value }
        return nil
    }

    /// The body as UTF-8 text (for tests and error messages).
    public var bodyText: String { String(buffer: body) }
}

/// The STOMP protocol versions the broker speaks.
public enum STOMPVersion: String, Sendable, Comparable, CaseIterable {
    case v10 = "1.0"
    case v11 = "1.1"
    case v12 = "1.2"

    public static func < (lhs: STOMPVersion, rhs: STOMPVersion) -> Bool { lhs.rawValue < rhs.rawValue }

    /// How header values are escaped in this version's frames (other than CONNECT and CONNECTED).
    public var escaping: STOMPHeaderEscaping {
        switch self {
        case .v10: return .none
        case .v11: return .v11
        case .v12: return .v12
        }
    }
}
