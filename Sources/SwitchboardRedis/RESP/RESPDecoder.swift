public import NIOCore

/// Why bytes from Redis could not be read as RESP. Redis is trusted, so any of these means a broken
/// link or something that is not Redis on the other end: the connection is closed.
public struct RESPDecodingError: Error, Equatable, Sendable, CustomStringConvertible {
    public let description: String

    init(_ description: String) { self.description = description }

    static func invalidType(_ byte: UInt8) -> Self { .init("unknown RESP type byte \(byte)") }
    static let missingCRLF = Self("a RESP line or bulk string does not end with CRLF")
    static func invalidNumber(_ text: String) -> Self { .init("'\(text.prefix(40))' is not a RESP number") }
    static func lineTooLong(limit: Int) -> Self { .init("a RESP line is longer than \(limit) bytes") }
    static func bulkTooLarge(limit: Int) -> Self { .init("a RESP bulk string is larger than \(limit) bytes") }
    static func aggregateTooLarge(limit: Int) -> Self { .init("a RESP aggregate has more than \(limit) elements") }
    static func tooDeep(limit: Int) -> Self { .init("RESP aggregates are nested more than \(limit) deep") }
    static let streamedUnsupported = Self("streamed RESP3 strings and aggregates are not supported")
}

/// Reads RESP2 and RESP3 values from a byte stream, incrementally: bytes may arrive one at a time or many
/// replies at once.
///
/// ```
/// "*2\r\n$3\r\nfoo\r\n:7\r\n"  ->  .array([.bulkString("foo"), .integer(7)])
/// ```
///
/// A value type with no I/O. A value that has not fully arrived is parsed again from its start when more
/// bytes come: replies are small next to a read (a history page is ~100 messages), and this keeps the
/// parser free of resumable state. Limits bound what a broken peer can make us buffer or allocate.
public struct RESPDecoder: Sendable {
    /// The decoder's limits.
    public struct Limits: Sendable {
        /// Longest simple string, error or number line, in bytes.
        public var maxLineLength: Int
        /// Largest bulk string, in bytes.
        public var maxBulkLength: Int
        /// Most elements of one array, set, push or map (a map's pairs count twice).
        public var maxAggregateCount: Int
        /// Deepest nesting of aggregates.
        public var maxDepth: Int

        /// Creates limits; the defaults are 64 KiB lines, 64 MiB bulk strings, 4 million elements and
        /// nesting 32 deep (a stream reply is 4 deep).
        public init(
            maxLineLength: Int = 64 << 10,
            maxBulkLength: Int = 64 << 20,
            maxAggregateCount: Int = 4 << 20,
            maxDepth: Int = 32
        ) {
            self.maxLineLength = maxLineLength
            self.maxBulkLength = maxBulkLength
            self.maxAggregateCount = maxAggregateCount
            self.maxDepth = maxDepth
        }
    }

    public var limits: Limits

    /// Creates a decoder.
    public init(limits: Limits = .init()) {
        self.limits = limits
    }

    /// The next complete value in `buffer` (consuming it), or nil when more bytes are needed (consuming
    /// nothing).
    public func next(from buffer: inout ByteBuffer) throws(RESPDecodingError) -> RESPValue? {
        var cursor = buffer.readerIndex
        guard let value = try value(in: buffer, at: &cursor, depth: 0) else { return nil }
        buffer.moveReaderIndex(to: cursor)
        return value
    }

    private func value(in buffer: ByteBuffer, at cursor: inout Int, depth: Int) throws(RESPDecodingError) -> RESPValue?
    {
        guard let type = buffer.getInteger(at: cursor, as: UInt8.self) else { return nil }
        guard let (line, next) = try line(in: buffer, from: cursor + 1) else { return nil }
        switch type {
        case UInt8(ascii: "+"):
            cursor = next
            return .simpleString(String(buffer: line))
        case UInt8(ascii: "-"):
            cursor = next
            return .error(String(buffer: line))
        case UInt8(ascii: ":"):
            cursor = next
            return .integer(try integer(line))
        case UInt8(ascii: "_"):
            cursor = next
            return .null
        case UInt8(ascii: "#"):
            switch line.readableBytesView.first {
            case UInt8(ascii: "t") where line.readableBytes == 1:
                cursor = next
                return .boolean(true)
            case UInt8(ascii: "f") where line.readableBytes == 1:
                cursor = next
                return .boolean(false)
            default: throw .invalidNumber(String(buffer: line))
            }
        case UInt8(ascii: ","):
            let text = String(buffer: line)
            let double: Double? =
                switch text {
                case "inf": .infinity
                case "-inf": -.infinity
                case "nan": .nan
                default: Double(text)
                }
            guard let double else { throw .invalidNumber(text) }
            cursor = next
            return .double(double)
        case UInt8(ascii: "("):
            let digits = String(buffer: line)
            guard !digits.isEmpty, digits.drop(while: { $0 == "-" }).allSatisfy(\.isASCIIDigit) else {
                throw .invalidNumber(digits)
            }
            cursor = next
            return .bigNumber(digits)
        case UInt8(ascii: "$"), UInt8(ascii: "!"), UInt8(ascii: "="):
            if line.readableBytesView.first == UInt8(ascii: "?") { throw .streamedUnsupported }
            let length = try integer(line)
            if length == -1, type == UInt8(ascii: "$") {
                cursor = next
                return .null
            }
            guard length >= 0 else { throw .invalidNumber(String(length)) }
            guard length <= limits.maxBulkLength else { throw .bulkTooLarge(limit: limits.maxBulkLength) }
            let count = Int(length)
            guard buffer.writerIndex - next >= count + 2 else { return nil }
            guard buffer.getInteger(at: next + count, as: UInt16.self) == crlf else { throw .missingCRLF }
            var bytes = buffer.getSlice(at: next, length: count)!
            cursor = next + count + 2
            switch type {
            case UInt8(ascii: "!"): return .error(String(buffer: bytes))
            case UInt8(ascii: "="):
                // "txt:" or "mkd:" comes first (RESP3 spec, "Verbatim strings").
                guard bytes.readableBytes >= 4 else { throw .invalidNumber(String(buffer: bytes)) }
                bytes.moveReaderIndex(forwardBy: 4)
                return .verbatimString(bytes)
            default: return .bulkString(bytes)
            }
        case UInt8(ascii: "*"), UInt8(ascii: "~"), UInt8(ascii: ">"), UInt8(ascii: "%"), UInt8(ascii: "|"):
            if line.readableBytesView.first == UInt8(ascii: "?") { throw .streamedUnsupported }
            let declared = try integer(line)
            if declared == -1, type == UInt8(ascii: "*") {
                cursor = next
                return .null
            }
            let pairs = type == UInt8(ascii: "%") || type == UInt8(ascii: "|")
            guard declared >= 0, declared <= (pairs ? limits.maxAggregateCount / 2 : limits.maxAggregateCount) else {
                throw .aggregateTooLarge(limit: limits.maxAggregateCount)
            }
            guard depth < limits.maxDepth else { throw .tooDeep(limit: limits.maxDepth) }
            let count = Int(declared) * (pairs ? 2 : 1)
            var elements: [RESPValue] = []
            // Reserve what has plausibly arrived, not what a length claims: each element is 3 bytes or more.
            elements.reserveCapacity(min(count, (buffer.writerIndex - next) / 3))
            var position = next
            for _ in 0..<count {
                guard let element = try value(in: buffer, at: &position, depth: depth + 1) else { return nil }
                elements.append(element)
            }
            if type == UInt8(ascii: "|") {
                // An attribute (RESP3: out-of-band metadata such as key popularity) annotates the value that
                // follows it; nothing here uses it, so it is dropped and that value returned.
                guard let annotated = try value(in: buffer, at: &position, depth: depth) else { return nil }
                cursor = position
                return annotated
            }
            cursor = position
            switch type {
            case UInt8(ascii: "~"): return .set(elements)
            case UInt8(ascii: ">"): return .push(elements)
            case UInt8(ascii: "%"):
                return .map(stride(from: 0, to: elements.count, by: 2).map { RESPPair(elements[$0], elements[$0 + 1]) })
            default: return .array(elements)
            }
        default:
            throw .invalidType(type)
        }
    }

    private var crlf: UInt16 { 0x0D0A }

    /// The line that starts at `start` without its CRLF, and the index after the CRLF; nil when the CRLF
    /// has not arrived.
    private func line(in buffer: ByteBuffer, from start: Int) throws(RESPDecodingError) -> (ByteBuffer, Int)? {
        let available = buffer.writerIndex - start
        guard available > 0 else { return nil }
        let scanned = min(available, limits.maxLineLength + 2)
        let view = buffer.getSlice(at: start, length: scanned)!.readableBytesView
        guard let carriageReturn = view.firstIndex(of: UInt8(ascii: "\r")) else {
            guard scanned < limits.maxLineLength + 2 else { throw .lineTooLong(limit: limits.maxLineLength) }
            return nil
        }
        let length = view.distance(from: view.startIndex, to: carriageReturn)
        guard length <= limits.maxLineLength else { throw .lineTooLong(limit: limits.maxLineLength) }
        guard let lineFeed = buffer.getInteger(at: start + length + 1, as: UInt8.self) else { return nil }
        guard lineFeed == UInt8(ascii: "\n") else { throw .missingCRLF }
        return (buffer.getSlice(at: start, length: length)!, start + length + 2)
    }

    private func integer(_ line: ByteBuffer) throws(RESPDecodingError) -> Int64 {
        var value: Int64 = 0
        var negative = false
        var digits = 0
        for (index, byte) in line.readableBytesView.enumerated() {
            if index == 0, byte == UInt8(ascii: "-") {
                negative = true
                continue
            }
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else {
                throw .invalidNumber(String(buffer: line))
            }
            let (times, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times.addingReportingOverflow(Int64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { throw .invalidNumber(String(buffer: line)) }
            value = sum
            digits += 1
        }
        guard digits > 0 else { throw .invalidNumber(String(buffer: line)) }
        return negative ? -value : value
    }
}

extension Character {
    fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
