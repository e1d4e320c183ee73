public import NIOCore
import SwitchboardCore

/// Why bytes could not be read as STOMP. Each case carries what the `ERROR` frame tells the client.
public enum STOMPDecodingError: Error, Equatable, Sendable {
    case headerTooLong(limit: Int)
    case tooManyHeaders(limit: Int)
    case bodyTooLarge(limit: Int)
    case malformedHeader(String)
    case invalidEscape(String)
    case invalidContentLength(String)
    case missingNull
    case nullInHeaders
    case unknownCommand(String)

    /// The short `message` header of the `ERROR` frame.
    public var message: String {
        switch self {
        case .headerTooLong: return "header too long"
        case .tooManyHeaders: return "too many headers"
        case .bodyTooLarge: return "frame too large"
        case .malformedHeader: return "malformed header"
        case .invalidEscape: return "invalid header escape"
        case .invalidContentLength: return "invalid content-length"
        case .missingNull, .nullInHeaders: return "malformed frame"
        case .unknownCommand: return "unknown command"
        }
    }

    /// The explanation in the `ERROR` frame's body.
    public var detail: String {
        switch self {
        case .headerTooLong(let limit):
            return "A command or header line is longer than \(limit) bytes (stomp.max_header_length)."
        case .tooManyHeaders(let limit):
            return "The frame has more than \(limit) headers (stomp.max_headers)."
        case .bodyTooLarge(let limit):
            return "The frame body is larger than \(limit) bytes (limits.max_message_size)."
        case .malformedHeader(let line):
            return "The header line '\(line.prefix(100))' has no ':' separating name and value."
        case .invalidEscape(let line):
            return "The header line '\(line.prefix(100))' has an escape sequence the protocol does not define."
        case .invalidContentLength(let value):
            return "The content-length header '\(value.prefix(40))' is not a non-negative integer."
        case .missingNull:
            return "The body announced by content-length is not followed by a NUL octet."
        case .nullInHeaders:
            return "A NUL octet appeared in the command or header lines; NUL only ends a frame's body."
        case .unknownCommand(let command):
            return "'\(command.prefix(40))' is not a STOMP client frame (CONNECT, STOMP, SEND, SUBSCRIBE, "
                + "UNSUBSCRIBE, ACK, NACK, BEGIN, COMMIT, ABORT, DISCONNECT)."
        }
    }
}

/// Reads STOMP frames from a byte stream, incrementally: bytes may arrive one at a time or many frames at
/// once. Limits are enforced while reading, before anything large is buffered.
///
/// A value type with no I/O: the connection handler feeds it what it reads and sets ``escaping`` once the
/// version is negotiated (CONNECT and CONNECTED are never escaped, whatever the version).
public struct STOMPFrameDecoder: Sendable {
    /// The decoder's limits.
    public struct Limits: Sendable {
        /// Longest command or header line, in bytes (without its EOL).
        public var maxHeaderLength: Int
        /// Most headers in one frame.
        public var maxHeaders: Int
        /// Largest body, in bytes.
        public var maxBodySize: Int

        /// Creates limits; the defaults are 8 KiB lines, 64 headers and 1 MiB bodies.
        public init(maxHeaderLength: Int = 8192, maxHeaders: Int = 64, maxBodySize: Int = 1 << 20) {
            self.maxHeaderLength = maxHeaderLength
            self.maxHeaders = maxHeaders
            self.maxBodySize = maxBodySize
        }
    }

    private enum State {
        case command
        case headers(STOMPFrame)
        /// Reading the body; `length` is the content-length, or nil to read up to the first NUL, of which
        /// `scanned` bytes were already searched.
        case body(STOMPFrame, length: Int?, scanned: Int)
    }

    /// The commands a client may send. Anything else is refused as soon as its command line arrives, so
    /// that a stray HTTP request or TLS handshake is answered at once rather than waited on for a NUL.
    public static let clientCommands: Set<String> = [
        "CONNECT", "STOMP", "SEND", "SUBSCRIBE", "UNSUBSCRIBE", "ACK", "NACK", "BEGIN", "COMMIT", "ABORT", "DISCONNECT",
    ]

    /// The commands accepted (nil: any, for reading server frames in tests and tools).
    public var acceptedCommands: Set<String>? = STOMPFrameDecoder.clientCommands
    public var limits: Limits
    /// How header values of frames other than CONNECT/STOMP are unescaped.
    public var escaping: STOMPHeaderEscaping = .none
    private var state: State = .command

    /// Creates a decoder.
    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// Whether a frame has started arriving and is not complete.
    public var isInsideFrame: Bool {
        if case .command = state { return false }
        return true
    }

    /// The next complete frame in `buffer` (consuming it), or nil when more bytes are needed.
    public mutating func next(from buffer: inout ByteBuffer) throws(STOMPDecodingError) -> STOMPFrame? {
        while true {
            switch state {
            case .command:
                // EOLs between frames are heart-beats (or trailing EOLs after a NUL): skip them.
                while let byte = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
                    byte == UInt8(ascii: "\n") || byte == UInt8(ascii: "\r")
                {
                    if byte == UInt8(ascii: "\r") {
                        guard let next = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt8.self) else {
                            return nil
                        }
                        guard next == UInt8(ascii: "\n") else { break }
                        buffer.moveReaderIndex(forwardBy: 2)
                    } else {
                        buffer.moveReaderIndex(forwardBy: 1)
                    }
                }
                guard let line = try readLine(from: &buffer) else { return nil }
                let command = String(decoding: line, as: UTF8.self)
                if let acceptedCommands, !acceptedCommands.contains(command) { throw .unknownCommand(command) }
                state = .headers(STOMPFrame(command))
            case .headers(var frame):
                guard let line = try readLine(from: &buffer) else { return nil }
                if line.isEmpty {
                    let length = try contentLength(of: frame)
                    state = .body(frame, length: length, scanned: 0)
                    continue
                }
                guard frame.headers.count < limits.maxHeaders else { throw .tooManyHeaders(limit: limits.maxHeaders) }
                guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else {
                    throw .malformedHeader(String(decoding: line, as: UTF8.self))
                }
                let isConnect = frame.command == "CONNECT" || frame.command == "STOMP"
                let mode: STOMPHeaderEscaping = isConnect ? .none : escaping
                guard let name = mode.unescape(line[..<colon]),
                    let value = mode.unescape(line[(colon + 1)...])
                else { throw .invalidEscape(String(decoding: line, as: UTF8.self)) }
                frame.headers.append((name, value))
                state = .headers(frame)
            case .body(var frame, let length, let scanned):
                if let length {
                    guard buffer.readableBytes > length else { return nil }
                    guard buffer.getInteger(at: buffer.readerIndex + length, as: UInt8.self) == 0 else {
                        throw .missingNull
                    }
                    frame.body = copy(length, from: &buffer)
                    buffer.moveReaderIndex(forwardBy: 1)
                } else {
                    let view = buffer.readableBytesView
                    let start = view.index(view.startIndex, offsetBy: scanned)
                    guard let nul = view[start...].firstIndex(of: 0) else {
                        guard view.count <= limits.maxBodySize else { throw .bodyTooLarge(limit: limits.maxBodySize) }
                        state = .body(frame, length: nil, scanned: view.count)
                        return nil
                    }
                    let bodyLength = view.distance(from: view.startIndex, to: nul)
                    guard bodyLength <= limits.maxBodySize else { throw .bodyTooLarge(limit: limits.maxBodySize) }
                    frame.body = copy(bodyLength, from: &buffer)
                    buffer.moveReaderIndex(forwardBy: 1)
                }
                state = .command
                return frame
            }
        }
    }

    /// One line without its LF (and CR), or nil when the LF has not arrived yet.
    private func readLine(from buffer: inout ByteBuffer) throws(STOMPDecodingError) -> [UInt8]? {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            guard view.count <= limits.maxHeaderLength + 1 else { throw .headerTooLong(limit: limits.maxHeaderLength) }
            if view.contains(0) { throw .nullInHeaders }
            return nil
        }
        var line = Array(view[view.startIndex..<newline])
        if line.contains(0) { throw .nullInHeaders }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        guard line.count <= limits.maxHeaderLength else { throw .headerTooLong(limit: limits.maxHeaderLength) }
        buffer.moveReaderIndex(forwardBy: view.distance(from: view.startIndex, to: newline) + 1)
        return line
    }

    private func contentLength(of frame: STOMPFrame) throws(STOMPDecodingError) -> Int? {
        guard let text = frame["content-length"] else { return nil }
        let trimmed = text[...].trimmingSpaces
        guard !trimmed.isEmpty, trimmed.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }), let length = Int(trimmed) else {
            throw .invalidContentLength(text)
        }
        guard length <= limits.maxBodySize else { throw .bodyTooLarge(limit: limits.maxBodySize) }
        return length
    }

    /// The body, copied out of the read buffer: a slice would keep the whole (possibly large) read buffer
    /// alive for as long as the message stays in history or in a queue.
    private func copy(_ length: Int, from buffer: inout ByteBuffer) -> ByteBuffer {
        guard length > 0 else {
            return ByteBuffer()
        }
        var body = ByteBufferAllocator().buffer(capacity: length)
        var slice = buffer.readSlice(length: length)!
        body.writeBuffer(&slice)
        return body
    }
}
