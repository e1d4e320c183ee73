// The byte-level half of the TOML reader (see TOMLDocument.swift for the public model and the table rules).
//
// It works on the UTF-8 bytes of the input: every TOML delimiter is ASCII and Swift strings are already valid
// UTF-8, so non-ASCII bytes only ever need to be copied through. Every byte is consumed through `advance()`,
// which is the single place that counts lines, so no code path can let the line number drift.

/// Reads TOML 1.0 text and feeds keys, values and headers to a `TOMLTreeBuilder`.
struct TOMLParser {
    /// Deeper nesting than this is certainly a mistake in a config file, and bounding it keeps the recursive
    /// descent from exhausting the stack on hostile input.
    private static let maximumNesting = 128

    private let bytes: [UInt8]
    private var position = 0
    private var line = 1
    private var nesting = 0
    private var scope: TOMLTreeBuilder.Scope
    /// The tree being built; `TOMLDocument` takes the results from here once parsing succeeds.
    private(set) var builder: TOMLTreeBuilder

    init(_ text: String) {
        bytes = Array(text.utf8)
        let builder = TOMLTreeBuilder()
        self.builder = builder
        scope = builder.rootScope
        // A UTF-8 byte order mark is allowed by TOML and carries no meaning.
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) {
            position = 3
        }
    }

    /// Reads the whole document: a sequence of lines, each blank, a comment, a header or a key/value pair.
    mutating func parseDocument() throws(TOMLParseError) {
        while true {
            skipWhitespace()
            guard let byte = peek() else { return }
            switch byte {
            case Byte.lineFeed, Byte.carriageReturn:
                try consumeNewline()
            case Byte.hash:
                try skipComment()
            case Byte.leftBracket:
                try parseTableHeader()
                try expectLineEnd(after: "table header")
            default:
                try parseKeyValue(in: scope, emit: true)
                try expectLineEnd(after: "value")
            }
        }
    }

    // MARK: - Structure

    /// `[a.b]` or `[[a.b]]`; makes the named table the target of the following key/value pairs.
    private mutating func parseTableHeader() throws(TOMLParseError) {
        let headerLine = line
        advance()
        let isArray = peek() == Byte.leftBracket
        if isArray {
            advance()
        }
        skipWhitespace()
        let path = try parseKey()
        skipWhitespace()
        guard peek() == Byte.rightBracket, !isArray || peek(1) == Byte.rightBracket else {
            let closing = isArray ? "]]" : "]"
            throw error("expected '\(closing)' to close the table header, found \(describeCurrent())")
        }
        advance(by: isArray ? 2 : 1)
        scope =
            try isArray
            ? builder.openArrayElement(path, line: headerLine)
            : builder.openTable(path, line: headerLine)
    }

    /// `key = value`, at the top level or inside an inline table. `emit` is false inside arrays, whose
    /// elements are not listed as entries.
    private mutating func parseKeyValue(in scope: TOMLTreeBuilder.Scope, emit: Bool) throws(TOMLParseError) {
        let keyLine = line
        let key = try parseKey()
        skipWhitespace()
        guard peek() == Byte.equals else {
            throw error("expected '=' after key '\(TOMLTreeBuilder.display(key))', found \(describeCurrent())")
        }
        advance()
        skipWhitespace()
        let slot = try builder.prepareSlot(for: key, in: scope, line: keyLine)
        let value = try parseValue(path: slot.path, emit: emit)
        builder.store(value, in: slot, line: keyLine, emit: emit)
    }

    /// A key: one or more simple keys separated by dots, with optional whitespace around the dots.
    private mutating func parseKey() throws(TOMLParseError) -> [String] {
        var parts = [try parseSimpleKey()]
        while true {
            skipWhitespace()
            guard peek() == Byte.dot else { return parts }
            advance()
            skipWhitespace()
            parts.append(try parseSimpleKey())
        }
    }

    /// A bare key (`A-Za-z0-9_-`) or a single-line quoted key.
    private mutating func parseSimpleKey() throws(TOMLParseError) -> String {
        guard let first = peek() else { throw error("expected a key, found end of file") }
        if first == Byte.quote || first == Byte.apostrophe {
            if peek(1) == first, peek(2) == first {
                throw error("multi-line strings cannot be used as keys")
            }
            return try parseSingleLineString(delimiter: first)
        }
        let start = position
        while let byte = peek(), Self.isBareKeyByte(byte) {
            advance()
        }
        // Anything that cannot end a key is reported as part of it, which catches `ké = 1` and `a$b = 1`;
        // structural characters are left to the caller, which knows what it expected instead.
        if let next = peek(), !Self.canFollowKey(next) {
            throw error(
                "\(describeCurrent()) is not allowed in a bare key; bare keys may only contain "
                    + "A-Z a-z 0-9 _ - (quote other keys)"
            )
        }
        guard position > start else { throw error("expected a key, found \(describeCurrent())") }
        return String(decoding: bytes[start..<position], as: UTF8.self)
    }

    /// After a header or key/value pair only whitespace and a comment may remain on the line.
    private mutating func expectLineEnd(after what: String) throws(TOMLParseError) {
        skipWhitespace()
        if peek() == Byte.hash {
            try skipComment()
        }
        guard let byte = peek() else { return }
        guard byte == Byte.lineFeed || byte == Byte.carriageReturn else {
            throw error("unexpected \(describeCurrent()) after \(what); expected a newline or a comment")
        }
        try consumeNewline()
    }

    // MARK: - Values

    /// Any value; `path` is where it will be stored, used to record lines of nested keys and elements.
    private mutating func parseValue(path: [String], emit: Bool) throws(TOMLParseError) -> TOMLValue {
        guard let byte = peek() else { throw error("expected a value, found end of file") }
        switch byte {
        case Byte.quote, Byte.apostrophe:
            if peek(1) == byte, peek(2) == byte {
                return .string(try parseMultilineString(delimiter: byte))
            }
            return .string(try parseSingleLineString(delimiter: byte))
        case Byte.leftBracket:
            return try parseArray(path: path)
        case Byte.leftBrace:
            return try parseInlineTable(path: path, emit: emit)
        default:
            guard Self.isTokenByte(byte) else { throw error("expected a value, found \(describeCurrent())") }
            return try parseBareValue()
        }
    }

    /// `[ value, value, ]`, which may span lines and contain comments.
    private mutating func parseArray(path: [String]) throws(TOMLParseError) -> TOMLValue {
        let startLine = line
        try enterNesting()
        defer { nesting -= 1 }
        advance()
        var elements: [TOMLValue] = []
        while true {
            try skipWhitespaceCommentsAndNewlines()
            guard let byte = peek() else {
                throw TOMLParseError(line: startLine, message: "unterminated array: missing ']'")
            }
            if byte == Byte.rightBracket {
                advance()
                return .array(elements)
            }
            let elementPath = path + [String(elements.count)]
            builder.recordLine(line, for: elementPath)
            elements.append(try parseValue(path: elementPath, emit: false))
            try skipWhitespaceCommentsAndNewlines()
            switch peek() {
            case Byte.comma?:
                advance()
            case Byte.rightBracket?:
                advance()
                return .array(elements)
            case nil:
                throw TOMLParseError(line: startLine, message: "unterminated array: missing ']'")
            default:
                throw error(
                    "expected ',' or ']' after array element, found \(describeCurrent()) "
                        + "(the array starts at line \(startLine))"
                )
            }
        }
    }

    /// `{ key = value, ... }`. TOML 1.0 keeps inline tables on one line and forbids a trailing comma.
    private mutating func parseInlineTable(path: [String], emit: Bool) throws(TOMLParseError) -> TOMLValue {
        try enterNesting()
        defer { nesting -= 1 }
        let table = TOMLTreeBuilder.Table(origin: .inline, line: line)
        let inner = TOMLTreeBuilder.Scope(table: table, path: path)
        advance()
        skipWhitespace()
        if peek() == Byte.rightBrace {
            advance()
            return .table([:])
        }
        while true {
            skipWhitespace()
            try rejectLineEndInInlineTable()
            try parseKeyValue(in: inner, emit: emit)
            skipWhitespace()
            try rejectLineEndInInlineTable()
            if peek() == Byte.rightBrace {
                advance()
                return .table(TOMLTreeBuilder.makeTable(table))
            }
            guard peek() == Byte.comma else {
                throw error("expected ',' or '}' in inline table, found \(describeCurrent())")
            }
            advance()
            skipWhitespace()
            if peek() == Byte.rightBrace {
                throw error("trailing comma is not allowed in an inline table")
            }
        }
    }

    private func rejectLineEndInInlineTable() throws(TOMLParseError) {
        if peek() == nil || peek() == Byte.lineFeed || peek() == Byte.carriageReturn || peek() == Byte.hash {
            throw error("unterminated inline table: inline tables must be closed on the same line")
        }
    }

    private mutating func enterNesting() throws(TOMLParseError) {
        guard nesting < Self.maximumNesting else {
            throw error("arrays and inline tables are nested more than \(Self.maximumNesting) levels deep")
        }
        nesting += 1
    }

    /// Unquoted values: booleans, numbers, `inf`/`nan` and date-times. Reading the whole token first keeps
    /// classification simple and lets errors quote exactly what was written.
    private mutating func parseBareValue() throws(TOMLParseError) -> TOMLValue {
        let token = scanToken()
        let text = String(decoding: token, as: UTF8.self)
        switch text {
        case "true": return .boolean(true)
        case "false": return .boolean(false)
        case "inf", "+inf": return .float(.infinity)
        case "-inf": return .float(-.infinity)
        case "nan", "+nan", "-nan": return .float(.nan)
        default: break
        }
        if Self.looksLikeDateTime(token) {
            guard Self.isValidDateTime(token) else { throw error("invalid date-time '\(text)'") }
            return .string(text)
        }
        if let first = token.first, Self.isDigit(first) || first == Byte.plus || first == Byte.minus {
            return try parseNumber(token, text: text)
        }
        throw error("invalid value '\(text)'; strings must be quoted")
    }

    /// The longest run of characters that can make up an unquoted value. A date followed by a space and a digit
    /// continues as a date-time, since TOML allows a space instead of `T`.
    private mutating func scanToken() -> [UInt8] {
        let start = position
        while let byte = peek(), Self.isTokenByte(byte) {
            advance()
        }
        if position - start == 10, bytes[start + 4] == Byte.minus, bytes[start + 7] == Byte.minus, peek() == Byte.space,
            let next = peek(1), Self.isDigit(next)
        {
            advance()
            while let byte = peek(), Self.isTokenByte(byte) {
                advance()
            }
        }
        return Array(bytes[start..<position])
    }

    // MARK: - Numbers

    /// Decimal, hexadecimal, octal and binary integers and decimal floats.
    private func parseNumber(_ token: [UInt8], text: String) throws(TOMLParseError) -> TOMLValue {
        let hasSign = token[0] == Byte.plus || token[0] == Byte.minus
        let start = hasSign ? 1 : 0
        if token.count >= start + 2, token[start] == Byte.zero, let radix = Self.radix(forPrefix: token[start + 1]) {
            guard !hasSign else {
                throw error("invalid number '\(text)': hexadecimal, octal and binary integers cannot have a sign")
            }
            guard let run = Self.scanDigits(token, from: 2, radix: radix), run.end == token.count else {
                throw error("invalid number '\(text)'")
            }
            return .integer(try integer(from: run.digits, radix: radix, negative: false, text: text))
        }
        return try parseDecimal(token, from: start, text: text)
    }

    /// `[+-]int[.frac][e[+-]exp]`; an integer when neither the fraction nor the exponent is present.
    private func parseDecimal(_ token: [UInt8], from start: Int, text: String) throws(TOMLParseError) -> TOMLValue {
        let invalid = error("invalid number '\(text)'")
        guard let whole = Self.scanDigits(token, from: start, radix: 10) else { throw invalid }
        if whole.digits.count > 1, whole.digits[0] == Byte.zero {
            throw error("invalid number '\(text)': leading zeros are not allowed")
        }
        var normalized = Array(token[..<start]) + whole.digits
        var index = whole.end
        if index < token.count, token[index] == Byte.dot {
            guard let fraction = Self.scanDigits(token, from: index + 1, radix: 10) else { throw invalid }
            normalized += [Byte.dot] + fraction.digits
            index = fraction.end
        }
        if index < token.count, token[index] == Byte.lowerE || token[index] == Byte.upperE {
            normalized.append(Byte.lowerE)
            index += 1
            if index < token.count, token[index] == Byte.plus || token[index] == Byte.minus {
                normalized.append(token[index])
                index += 1
            }
            guard let exponent = Self.scanDigits(token, from: index, radix: 10) else { throw invalid }
            normalized += exponent.digits
            index = exponent.end
        }
        guard index == token.count else { throw invalid }
        if index == whole.end {
            return .integer(try integer(from: whole.digits, radix: 10, negative: token[0] == Byte.minus, text: text))
        }
        guard let value = Double(String(decoding: normalized, as: UTF8.self)), value.isFinite else {
            throw error("float '\(text)' is out of range")
        }
        return .float(value)
    }

    /// Accumulates digits into an `Int64`, rejecting values that do not fit (Int64.min is allowed).
    private func integer(
        from digits: [UInt8],
        radix: Int,
        negative: Bool,
        text: String
    )
        throws(TOMLParseError) -> Int64
    {
        let limit = negative ? UInt64(Int64.max) + 1 : UInt64(Int64.max)
        var magnitude: UInt64 = 0
        for digit in digits {
            let (shifted, overflowed) = magnitude.multipliedReportingOverflow(by: UInt64(radix))
            let (sum, carried) = shifted.addingReportingOverflow(UInt64(Self.digitValue(digit) ?? 0))
            guard !overflowed, !carried, sum <= limit else {
                throw error("integer '\(text)' does not fit in 64 bits")
            }
            magnitude = sum
        }
        guard negative else { return Int64(magnitude) }
        return magnitude == limit ? Int64.min : -Int64(magnitude)
    }

    /// Reads `digit ( '_'? digit )*` in `radix`, returning the digits without underscores and where they end,
    /// or `nil` when there is no digit or an underscore is not between two digits.
    private static func scanDigits(_ token: [UInt8], from start: Int, radix: Int) -> (digits: [UInt8], end: Int)? {
        var digits: [UInt8] = []
        var index = start
        while index < token.count {
            let byte = token[index]
            if let value = digitValue(byte), value < radix {
                digits.append(byte)
                index += 1
            } else if byte == Byte.underscore {
                let next = index + 1 < token.count ? digitValue(token[index + 1]) : nil
                guard !digits.isEmpty, let next, next < radix else { return nil }
                index += 1
            } else {
                break
            }
        }
        return digits.isEmpty ? nil : (digits, index)
    }

    private static func radix(forPrefix byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "x"): 16
        case UInt8(ascii: "o"): 8
        case UInt8(ascii: "b"): 2
        default: nil
        }
    }

    private static func digitValue(_ byte: UInt8) -> Int? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): Int(byte - UInt8(ascii: "0"))
        case UInt8(ascii: "a")...UInt8(ascii: "f"): Int(byte - UInt8(ascii: "a")) + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): Int(byte - UInt8(ascii: "A")) + 10
        default: nil
        }
    }

    // MARK: - Date-times

    /// A `:`, or a `-` right after a digit (numbers only have `-` as a sign or after an exponent's `e`), means
    /// the author wrote a date-time, so a malformed one is reported as a date-time rather than as a number.
    private static func looksLikeDateTime(_ token: [UInt8]) -> Bool {
        if token.contains(Byte.colon) { return true }
        guard let first = token.first, isDigit(first) else { return false }
        return token.indices.dropFirst().contains { token[$0] == Byte.minus && isDigit(token[$0 - 1]) }
    }

    /// Offset date-time, local date-time, local date or local time, with calendar ranges checked.
    private static func isValidDateTime(_ token: [UInt8]) -> Bool {
        var index = 0
        let hasDate = token.count >= 10 && token[4] == Byte.minus
        if hasDate {
            guard isValidDate(token) else { return false }
            index = 10
            if index == token.count { return true }
            guard [UInt8(ascii: "T"), UInt8(ascii: "t"), Byte.space].contains(token[index]) else { return false }
            index += 1
        }
        guard isValidTime(token, at: &index) else { return false }
        if index == token.count { return true }
        // Only a full date-time may carry an offset.
        guard hasDate else { return false }
        if token[index] == UInt8(ascii: "Z") || token[index] == UInt8(ascii: "z") {
            return index + 1 == token.count
        }
        guard token[index] == Byte.plus || token[index] == Byte.minus, token.count == index + 6,
            token[index + 3] == Byte.colon, let hours = number(token, at: index + 1, length: 2),
            let minutes = number(token, at: index + 4, length: 2)
        else { return false }
        return hours <= 23 && minutes <= 59
    }

    private static func isValidDate(_ token: [UInt8]) -> Bool {
        guard let year = number(token, at: 0, length: 4), token[4] == Byte.minus,
            let month = number(token, at: 5, length: 2), token[7] == Byte.minus,
            let day = number(token, at: 8, length: 2), (1...12).contains(month)
        else { return false }
        let isLeap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
        let monthLengths = [31, isLeap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
        return (1...monthLengths[month - 1]).contains(day)
    }

    /// `HH:MM:SS[.fraction]`; seconds are mandatory in TOML 1.0 and 60 is allowed for leap seconds.
    private static func isValidTime(_ token: [UInt8], at index: inout Int) -> Bool {
        guard let hours = number(token, at: index, length: 2), index + 8 <= token.count, token[index + 2] == Byte.colon,
            let minutes = number(token, at: index + 3, length: 2), token[index + 5] == Byte.colon,
            let seconds = number(token, at: index + 6, length: 2), hours <= 23, minutes <= 59, seconds <= 60
        else { return false }
        index += 8
        if index < token.count, token[index] == Byte.dot {
            let fractionStart = index + 1
            index = fractionStart
            while index < token.count, isDigit(token[index]) {
                index += 1
            }
            return index > fractionStart
        }
        return true
    }

    private static func number(_ token: [UInt8], at start: Int, length: Int) -> Int? {
        guard start + length <= token.count else { return nil }
        var value = 0
        for byte in token[start..<start + length] {
            guard isDigit(byte) else { return nil }
            value = value * 10 + Int(byte - Byte.zero)
        }
        return value
    }

    // MARK: - Strings

    /// `"basic"` (with escapes) or `'literal'`; both must end on the line they start on.
    private mutating func parseSingleLineString(delimiter: UInt8) throws(TOMLParseError) -> String {
        advance()
        var result: [UInt8] = []
        while true {
            guard let byte = peek(), byte != Byte.lineFeed, byte != Byte.carriageReturn else {
                throw error("unterminated string: missing closing \(delimiter == Byte.quote ? "\"" : "'")")
            }
            if byte == delimiter {
                advance()
                return String(decoding: result, as: UTF8.self)
            }
            if byte == Byte.backslash, delimiter == Byte.quote {
                try parseEscape(into: &result)
            } else {
                try appendStringByte(byte, to: &result)
            }
        }
    }

    /// `"""basic"""` or `'''literal'''`, which may span lines. A newline right after the opening delimiter is
    /// dropped and CRLF is normalised to LF, so values do not depend on the file's line endings.
    private mutating func parseMultilineString(delimiter: UInt8) throws(TOMLParseError) -> String {
        let startLine = line
        advance(by: 3)
        if peek() == Byte.lineFeed || peek() == Byte.carriageReturn {
            try consumeNewline()
        }
        var result: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw TOMLParseError(
                    line: startLine,
                    message: "unterminated multi-line string: missing closing "
                        + String(repeating: delimiter == Byte.quote ? "\"" : "'", count: 3)
                )
            }
            switch byte {
            case delimiter:
                if try closeMultilineString(delimiter: delimiter, into: &result) {
                    return String(decoding: result, as: UTF8.self)
                }
            case Byte.backslash where delimiter == Byte.quote:
                if isLineEndingBackslash() {
                    skipLineEndingBackslash()
                } else {
                    try parseEscape(into: &result)
                }
            case Byte.lineFeed, Byte.carriageReturn:
                try consumeNewline()
                result.append(Byte.lineFeed)
            default:
                try appendStringByte(byte, to: &result)
            }
        }
    }

    /// Handles a run of delimiter characters inside a multi-line string. Fewer than three are content; three to
    /// five close the string, the extra one or two being content just before the closing delimiter.
    private mutating func closeMultilineString(
        delimiter: UInt8,
        into result: inout [UInt8]
    )
        throws(TOMLParseError) -> Bool
    {
        var count = 0
        while peek(count) == delimiter {
            count += 1
        }
        guard count <= 5 else { throw error("too many quotes at the end of a multi-line string") }
        let contentCount = count < 3 ? count : count - 3
        result.append(contentsOf: repeatElement(delimiter, count: contentCount))
        advance(by: count)
        return count >= 3
    }

    /// A backslash followed only by whitespace up to the end of the line joins the line with the next one.
    private func isLineEndingBackslash() -> Bool {
        var offset = 1
        while peek(offset) == Byte.space || peek(offset) == Byte.tab {
            offset += 1
        }
        return peek(offset) == Byte.lineFeed
            || (peek(offset) == Byte.carriageReturn && peek(offset + 1) == Byte.lineFeed)
    }

    /// Skips the backslash and all whitespace and newlines after it.
    private mutating func skipLineEndingBackslash() {
        advance()
        while let byte = peek() {
            let isNewline = byte == Byte.lineFeed || (byte == Byte.carriageReturn && peek(1) == Byte.lineFeed)
            guard isNewline || byte == Byte.space || byte == Byte.tab else { return }
            advance()
        }
    }

    /// One escape sequence of a basic string, starting at the backslash.
    private mutating func parseEscape(into result: inout [UInt8]) throws(TOMLParseError) {
        let escaped: UInt8
        switch peek(1) {
        case UInt8(ascii: "b")?: escaped = 0x08
        case UInt8(ascii: "t")?: escaped = Byte.tab
        case UInt8(ascii: "n")?: escaped = Byte.lineFeed
        case UInt8(ascii: "f")?: escaped = 0x0C
        case UInt8(ascii: "r")?: escaped = Byte.carriageReturn
        case Byte.quote?: escaped = Byte.quote
        case Byte.backslash?: escaped = Byte.backslash
        case UInt8(ascii: "u")?:
            advance(by: 2)
            return try appendUnicodeEscape(digitCount: 4, to: &result)
        case UInt8(ascii: "U")?:
            advance(by: 2)
            return try appendUnicodeEscape(digitCount: 8, to: &result)
        default:
            let next = describe(at: position + 1)
            throw error(
                "invalid escape sequence: '\\' followed by \(next); valid escapes are "
                    + "\\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX"
            )
        }
        result.append(escaped)
        advance(by: 2)
    }

    /// `\uXXXX` or `\UXXXXXXXX` after the `u`/`U`; the code point must be a Unicode scalar (no surrogates).
    private mutating func appendUnicodeEscape(digitCount: Int, to result: inout [UInt8]) throws(TOMLParseError) {
        let name = digitCount == 4 ? "\\u" : "\\U"
        var value: UInt32 = 0
        for _ in 0..<digitCount {
            guard let byte = peek(), let digit = Self.digitValue(byte) else {
                throw error("invalid escape sequence: \(name) must be followed by \(digitCount) hexadecimal digits")
            }
            value = value << 4 | UInt32(digit)
            advance()
        }
        guard let scalar = Unicode.Scalar(value) else {
            throw error(
                "invalid escape sequence: \(name) code point \(String(value, radix: 16, uppercase: true)) "
                    + "is not a Unicode scalar value"
            )
        }
        UTF8.encode(scalar) { result.append($0) }
    }

    /// Copies one content byte, rejecting control characters, which TOML requires to be escaped.
    private mutating func appendStringByte(_ byte: UInt8, to result: inout [UInt8]) throws(TOMLParseError) {
        if Self.isControl(byte), byte != Byte.tab {
            throw error("\(describeCurrent()) is not allowed in a string; use an escape sequence")
        }
        result.append(byte)
        advance()
    }

    // MARK: - Whitespace, comments and newlines

    private mutating func skipWhitespace() {
        while peek() == Byte.space || peek() == Byte.tab {
            advance()
        }
    }

    /// Between array elements, where newlines and comments are allowed.
    private mutating func skipWhitespaceCommentsAndNewlines() throws(TOMLParseError) {
        while let byte = peek() {
            switch byte {
            case Byte.space, Byte.tab: advance()
            case Byte.lineFeed, Byte.carriageReturn: try consumeNewline()
            case Byte.hash: try skipComment()
            default: return
            }
        }
    }

    /// Skips from `#` to the end of the line (leaving the newline), rejecting control characters as TOML does.
    private mutating func skipComment() throws(TOMLParseError) {
        advance()
        while let byte = peek(), byte != Byte.lineFeed {
            if byte == Byte.carriageReturn, peek(1) == Byte.lineFeed { return }
            if Self.isControl(byte), byte != Byte.tab {
                throw error("\(describeCurrent()) is not allowed in a comment")
            }
            advance()
        }
    }

    /// LF or CRLF; a lone CR is not a newline in TOML.
    private mutating func consumeNewline() throws(TOMLParseError) {
        if peek() == Byte.carriageReturn {
            guard peek(1) == Byte.lineFeed else { throw error("carriage return must be followed by a line feed") }
            advance()
        }
        advance()
    }

    // MARK: - Low-level helpers

    private func peek(_ offset: Int = 0) -> UInt8? {
        let index = position + offset
        return index < bytes.count ? bytes[index] : nil
    }

    /// Consumes one byte; the only place where the line counter moves.
    private mutating func advance() {
        if bytes[position] == Byte.lineFeed {
            line += 1
        }
        position += 1
    }

    private mutating func advance(by count: Int) {
        for _ in 0..<count {
            advance()
        }
    }

    private func error(_ message: String) -> TOMLParseError {
        TOMLParseError(line: line, message: message)
    }

    private func describeCurrent() -> String {
        describe(at: position)
    }

    /// Names the character at `index` for an error message, decoding multi-byte UTF-8 so users see `'é'`.
    private func describe(at index: Int) -> String {
        guard index < bytes.count else { return "end of file" }
        let byte = bytes[index]
        if byte == Byte.lineFeed || (byte == Byte.carriageReturn && peek(1) == Byte.lineFeed) {
            return "end of line"
        }
        if Self.isControl(byte) {
            let hex = String(byte, radix: 16, uppercase: true)
            return "control character U+\(String(repeating: "0", count: 4 - hex.count))\(hex)"
        }
        if byte < 0x80 { return "'\(Character(Unicode.Scalar(byte)))'" }
        let length = byte >= 0xF0 ? 4 : byte >= 0xE0 ? 3 : 2
        return "'\(String(decoding: bytes[index..<min(index + length, bytes.count)], as: UTF8.self))'"
    }

    /// `A-Z a-z 0-9 _ -`, the characters of a bare key.
    static func isBareKeyByte(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), Byte.underscore, Byte.minus:
            true
        default:
            false
        }
    }

    /// Characters that may directly follow a bare key, so the caller can report what it expected instead.
    private static func canFollowKey(_ byte: UInt8) -> Bool {
        switch byte {
        case Byte.space, Byte.tab, Byte.dot, Byte.equals, Byte.rightBracket, Byte.leftBracket, Byte.rightBrace,
            Byte.leftBrace, Byte.comma, Byte.hash, Byte.lineFeed, Byte.carriageReturn, Byte.quote, Byte.apostrophe:
            true
        default:
            false
        }
    }

    /// Characters of unquoted values: digits, letters (`true`, `inf`, `0x`, exponents, `T`/`Z`) and `_+-.:`.
    private static func isTokenByte(_ byte: UInt8) -> Bool {
        isBareKeyByte(byte) || byte == Byte.plus || byte == Byte.dot || byte == Byte.colon
    }

    private static func isDigit(_ byte: UInt8) -> Bool {
        byte >= Byte.zero && byte <= UInt8(ascii: "9")
    }

    private static func isControl(_ byte: UInt8) -> Bool {
        byte < 0x20 || byte == 0x7F
    }
}

/// Named ASCII bytes, so the scanner reads as TOML's grammar rather than as numeric codes.
private enum Byte {
    static let tab = UInt8(ascii: "\t")
    static let lineFeed = UInt8(ascii: "\n")
    static let carriageReturn = UInt8(ascii: "\r")
    static let space = UInt8(ascii: " ")
    static let quote = UInt8(ascii: "\"")
    static let hash = UInt8(ascii: "#")
    static let apostrophe = UInt8(ascii: "'")
    static let plus = UInt8(ascii: "+")
    static let comma = UInt8(ascii: ",")
    static let minus = UInt8(ascii: "-")
    static let dot = UInt8(ascii: ".")
    static let zero = UInt8(ascii: "0")
    static let colon = UInt8(ascii: ":")
    static let equals = UInt8(ascii: "=")
    static let upperE = UInt8(ascii: "E")
    static let lowerE = UInt8(ascii: "e")
    static let leftBracket = UInt8(ascii: "[")
    static let backslash = UInt8(ascii: "\\")
    static let rightBracket = UInt8(ascii: "]")
    static let underscore = UInt8(ascii: "_")
    static let leftBrace = UInt8(ascii: "{")
    static let rightBrace = UInt8(ascii: "}")
}
