// A small, dependency-free TOML 1.0 reader for Switchboard's configuration files.
//
// General-purpose TOML libraries hand back a plain dictionary and forget where each key came from. The
// configuration checker needs the opposite: every key with the line that defined it, so that
// `switchboard check-config FILE` can print `FILE:LINE: message` for parse errors *and* for semantic problems
// (unknown keys, wrong types, out-of-range values) found later. This file holds the public model and the rules
// for building the table tree; `TOMLParser.swift` holds the byte-level reader.
//
// Date-times (offset, local, date-only and time-only) are validated and then kept as `.string` holding their raw
// text, because no Switchboard setting is a date and a dedicated case would burden every switch over `TOMLValue`.

/// A TOML value as it appears in a parsed document.
///
/// Date-time literals are validated but represented as `.string` containing their original text.
public indirect enum TOMLValue: Sendable, Equatable {
    /// A basic, literal or multi-line string (escape sequences already resolved), or a date-time's raw text.
    case string(String)
    /// A 64-bit signed integer written in decimal, hexadecimal, octal or binary.
    case integer(Int64)
    /// An IEEE 754 binary64 float, including `inf` and `nan`.
    case float(Double)
    /// `true` or `false`.
    case boolean(Bool)
    /// An array; TOML 1.0 allows its elements to have mixed types.
    case array([TOMLValue])
    /// A table: a `[header]` table, an array-of-tables element, a table made by dotted keys, or an inline table.
    case table([String: TOMLValue])

    /// A short name of the value's kind for diagnostics, such as `"integer"` or `"table"`.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .boolean: "boolean"
        case .array: "array"
        case .table: "table"
        }
    }

    /// The string payload, or `nil` when the value is not a string.
    public var stringValue: String? {
        if case .string(let value) = self { value } else { nil }
    }

    /// The integer payload, or `nil` when the value is not an integer.
    public var integerValue: Int64? {
        if case .integer(let value) = self { value } else { nil }
    }

    /// The float payload, or `nil` when the value is not a float (integers are deliberately not converted).
    public var floatValue: Double? {
        if case .float(let value) = self { value } else { nil }
    }

    /// The boolean payload, or `nil` when the value is not a boolean.
    public var boolValue: Bool? {
        if case .boolean(let value) = self { value } else { nil }
    }

    /// The elements, or `nil` when the value is not an array.
    public var arrayValue: [TOMLValue]? {
        if case .array(let value) = self { value } else { nil }
    }

    /// The key/value pairs, or `nil` when the value is not a table.
    public var tableValue: [String: TOMLValue]? {
        if case .table(let value) = self { value } else { nil }
    }
}

/// One leaf key of a document — any key whose value is not a table — with the line that defined it.
public struct TOMLEntry: Sendable, Equatable {
    /// The full path from the root, e.g. `["channels", "history_size"]`. Elements of arrays of tables contribute
    /// their zero-based index as a path component, e.g. `["bridge", "route", "0", "path"]`.
    public var keyPath: [String]
    /// The value assigned to the key. Arrays are leaves: their elements are not listed as separate entries.
    public var value: TOMLValue
    /// The 1-based line of the key (for a multi-line value, the line where the value starts).
    public var line: Int

    /// Creates an entry; the parser is the usual source of entries, but tests and callers may build their own.
    public init(keyPath: [String], value: TOMLValue, line: Int) {
        self.keyPath = keyPath
        self.value = value
        self.line = line
    }
}

/// A `[table]` or `[[array.of.tables]]` header, so callers can report unknown sections at their line.
public struct TOMLTableHeader: Sendable, Equatable {
    /// The key path exactly as written in the header, e.g. `["bridge", "route"]`.
    public var path: [String]
    /// The path with array-of-tables indices inserted, e.g. `["bridge", "route", "1"]`; this is the prefix of
    /// the `keyPath` of every entry defined under the header.
    public var resolvedPath: [String]
    /// Whether the header was written with double brackets (`[[...]]`).
    public var isArrayOfTables: Bool
    /// The 1-based line of the header.
    public var line: Int

    /// Creates a header record; normally produced by the parser.
    public init(path: [String], resolvedPath: [String], isArrayOfTables: Bool, line: Int) {
        self.path = path
        self.resolvedPath = resolvedPath
        self.isArrayOfTables = isArrayOfTables
        self.line = line
    }
}

/// A syntax or structure error in a TOML document, located by line.
public struct TOMLParseError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The 1-based line the error refers to.
    public var line: Int
    /// A human-readable explanation without location, suitable for `FILE:LINE: message`.
    public var message: String

    /// Creates an error at `line` with `message`.
    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    /// `line N: message`; callers that know the file name should format `FILE:LINE: message` themselves.
    public var description: String { "line \(line): \(message)" }
}

/// A parsed TOML 1.0 document that remembers the line of every key, table header and array element.
///
/// Parsing stops at the first error, which is thrown as a `TOMLParseError` carrying its line.
public struct TOMLDocument: Sendable {
    /// The root table.
    public let root: [String: TOMLValue]
    /// Every leaf key (any key whose value is not a table) in file order, with full paths and lines. Keys inside
    /// inline tables are listed too; elements of arrays are not (the array itself is the leaf).
    public let entries: [TOMLEntry]
    /// Every `[table]` and `[[array.of.tables]]` header in file order.
    public let tableHeaders: [TOMLTableHeader]
    /// Lines of every key, table and array element, keyed by resolved path (array elements by index).
    private let lines: [[String]: Int]

    /// Parses `text` as TOML 1.0.
    ///
    /// - Throws: `TOMLParseError` for the first syntax or structure error, with the line it was found on.
    public init(parsing text: String) throws(TOMLParseError) {
        var parser = TOMLParser(text)
        try parser.parseDocument()
        root = parser.builder.makeRootTable()
        entries = parser.builder.entries
        tableHeaders = parser.builder.headers
        lines = parser.builder.lines
    }

    /// The value at `keyPath`, or `nil` if there is none. An empty path yields the root table; a decimal
    /// component indexes into an array (as in `["bridge", "route", "0", "path"]`).
    public func value(at keyPath: [String]) -> TOMLValue? {
        var current = TOMLValue.table(root)
        for component in keyPath {
            switch current {
            case .table(let table):
                guard let next = table[component] else { return nil }
                current = next
            case .array(let elements):
                guard let index = Int(component), elements.indices.contains(index) else { return nil }
                current = elements[index]
            default:
                return nil
            }
        }
        return current
    }

    /// The 1-based line where `keyPath` was defined, or `nil` if the document does not define it.
    ///
    /// For `[header]` tables this is the header's line; for tables only implied by a longer header or by dotted
    /// keys, the line that first implied them; for an array of tables, its first `[[header]]`; for array
    /// elements (`[..., "2"]`), the line where the element starts.
    public func line(of keyPath: [String]) -> Int? {
        lines[keyPath]
    }
}

/// Builds the table tree while enforcing TOML's rules about which tables may be created, reopened or extended,
/// and records lines for `TOMLDocument`. Kept apart from the byte reader so those rules live in one place.
struct TOMLTreeBuilder {
    /// How a table came into existence; TOML decides from this what may later add keys to it.
    enum Origin {
        /// Implied by a longer header (`[a.b]` implies `a`); a later `[a]` may still define it once.
        case implicit
        /// Defined by a `[header]` or `[[header]]` (or the root); may never be defined again.
        case header
        /// Created by a dotted key (`a.b = 1` creates `a`); only further dotted keys may add to it.
        case dotted
        /// An inline table `{ ... }`; frozen once its closing brace is read.
        case inline
    }

    /// A mutable table node; a class so that a "current table" can be held while its parents keep growing.
    final class Table {
        var origin: Origin
        var line: Int
        var children: [String: Child] = [:]

        init(origin: Origin, line: Int) {
            self.origin = origin
            self.line = line
        }
    }

    /// The elements of an array of tables, which only `[[header]]` may append to.
    final class TableArray {
        let line: Int
        var elements: [Table] = []

        init(line: Int) {
            self.line = line
        }
    }

    /// What a key maps to while the tree is being built. Inline tables and static arrays are finished values,
    /// which is what makes them impossible to extend later.
    enum Child {
        case value(TOMLValue, line: Int)
        case table(Table)
        case tableArray(TableArray)
    }

    /// The table that key/value pairs currently go into, with its resolved path from the root.
    struct Scope {
        let table: Table
        let path: [String]
    }

    /// Where a key/value pair will be stored, computed before the value is read so that a duplicate key is
    /// reported at the key's line even when the value spans several lines.
    struct Slot {
        let table: Table
        let key: String
        let path: [String]
    }

    let root = Table(origin: .header, line: 1)
    private(set) var lines: [[String]: Int] = [:]
    private(set) var entries: [TOMLEntry] = []
    private(set) var headers: [TOMLTableHeader] = []

    var rootScope: Scope { Scope(table: root, path: []) }

    /// Handles `[path]`: walks (creating implied tables) to the parent and defines the last component.
    mutating func openTable(_ path: [String], line: Int) throws(TOMLParseError) -> Scope {
        let parent = try descendForHeader(path, line: line)
        let key = path[path.count - 1]
        let name = "[\(Self.display(path))]"
        let table: Table
        switch parent.table.children[key] {
        case nil:
            table = Table(origin: .header, line: line)
            parent.table.children[key] = .table(table)
        case .table(let existing) where existing.origin == .implicit:
            existing.origin = .header
            existing.line = line
            table = existing
        case .table(let existing) where existing.origin == .dotted:
            throw TOMLParseError(
                line: line,
                message: "table \(name) was already created by dotted keys at line "
                    + "\(existing.line); a table header cannot reopen it"
            )
        case .table(let existing):
            throw TOMLParseError(line: line, message: "table \(name) is already defined at line \(existing.line)")
        case .tableArray(let array):
            throw TOMLParseError(
                line: line,
                message: "cannot define table \(name): it is already an array of "
                    + "tables (line \(array.line))"
            )
        case .value(let value, let valueLine):
            throw TOMLParseError(
                line: line,
                message: "cannot define table \(name): key '\(Self.display(path))' "
                    + "already holds \(Self.describe(value)) (line \(valueLine))"
            )
        }
        let resolved = parent.path + [key]
        lines[resolved] = line
        headers.append(TOMLTableHeader(path: path, resolvedPath: resolved, isArrayOfTables: false, line: line))
        return Scope(table: table, path: resolved)
    }

    /// Handles `[[path]]`: walks to the parent and appends a fresh table to the array of tables there.
    mutating func openArrayElement(_ path: [String], line: Int) throws(TOMLParseError) -> Scope {
        let parent = try descendForHeader(path, line: line)
        let key = path[path.count - 1]
        let name = "[[\(Self.display(path))]]"
        let array: TableArray
        switch parent.table.children[key] {
        case nil:
            array = TableArray(line: line)
            parent.table.children[key] = .tableArray(array)
            lines[parent.path + [key]] = line
        case .tableArray(let existing):
            array = existing
        case .table(let existing):
            throw TOMLParseError(
                line: line,
                message: "cannot define array of tables \(name): it is already a "
                    + "table (line \(existing.line))"
            )
        case .value(let value, let valueLine):
            throw TOMLParseError(
                line: line,
                message: "cannot define array of tables \(name): key "
                    + "'\(Self.display(path))' already holds \(Self.describe(value)) (line \(valueLine))"
            )
        }
        array.elements.append(Table(origin: .header, line: line))
        let resolved = parent.path + [key, String(array.elements.count - 1)]
        lines[resolved] = line
        headers.append(TOMLTableHeader(path: path, resolvedPath: resolved, isArrayOfTables: true, line: line))
        return Scope(table: array.elements[array.elements.count - 1], path: resolved)
    }

    /// Walks every component of a header but the last. Headers may pass through any kind of table except an
    /// inline one, and through an array of tables into its most recent element.
    private mutating func descendForHeader(_ path: [String], line: Int) throws(TOMLParseError) -> Scope {
        var table = root
        var resolved: [String] = []
        for (index, key) in path.dropLast().enumerated() {
            resolved.append(key)
            switch table.children[key] {
            case nil:
                let child = Table(origin: .implicit, line: line)
                table.children[key] = .table(child)
                lines[resolved] = line
                table = child
            case .table(let child):
                table = child
            case .tableArray(let array):
                resolved.append(String(array.elements.count - 1))
                table = array.elements[array.elements.count - 1]
            case .value(let value, let valueLine):
                let prefix = Self.display(Array(path[...index]))
                throw TOMLParseError(
                    line: line,
                    message: "cannot define table [\(Self.display(path))]: key "
                        + "'\(prefix)' already holds \(Self.describe(value)) (line \(valueLine))"
                )
            }
        }
        return Scope(table: table, path: resolved)
    }

    /// Resolves a (possibly dotted) key inside `scope`, creating the tables its dotted prefix implies and
    /// rejecting duplicates. Dotted keys may only walk through tables that dotted keys created, which is what
    /// stops them from reaching into a `[header]` table from elsewhere.
    mutating func prepareSlot(for key: [String], in scope: Scope, line: Int) throws(TOMLParseError) -> Slot {
        var table = scope.table
        var path = scope.path
        let written = Self.display(key)
        for (index, part) in key.dropLast().enumerated() {
            path.append(part)
            let prefix = Self.display(Array(key[...index]))
            switch table.children[part] {
            case nil:
                let child = Table(origin: .dotted, line: line)
                table.children[part] = .table(child)
                lines[path] = line
                table = child
            case .table(let child) where child.origin == .dotted:
                table = child
            case .table(let child):
                throw TOMLParseError(
                    line: line,
                    message: "cannot add key '\(written)' with dotted keys: table "
                        + "'\(prefix)' was created by a table header at line \(child.line)"
                )
            case .tableArray(let array):
                throw TOMLParseError(
                    line: line,
                    message: "cannot add key '\(written)' with dotted keys: "
                        + "'\(prefix)' is an array of tables (line \(array.line))"
                )
            case .value(let value, let valueLine):
                throw TOMLParseError(
                    line: line,
                    message: "cannot define key '\(written)': '\(prefix)' already "
                        + "holds \(Self.describe(value)) (line \(valueLine))"
                )
            }
        }
        let last = key[key.count - 1]
        if let existing = table.children[last] {
            throw TOMLParseError(
                line: line,
                message: "duplicate key '\(written)' (first defined at line "
                    + "\(Self.line(of: existing)))"
            )
        }
        return Slot(table: table, key: last, path: path + [last])
    }

    /// Stores a parsed value in a slot from `prepareSlot` and, when `emit` is set, lists it as an entry.
    mutating func store(_ value: TOMLValue, in slot: Slot, line: Int, emit: Bool) {
        slot.table.children[slot.key] = .value(value, line: line)
        lines[slot.path] = line
        if emit, value.tableValue == nil {
            entries.append(TOMLEntry(keyPath: slot.path, value: value, line: line))
        }
    }

    /// Records the line of an array element, which has no key of its own.
    mutating func recordLine(_ line: Int, for path: [String]) {
        lines[path] = line
    }

    /// Converts the finished tree into plain values.
    func makeRootTable() -> [String: TOMLValue] {
        Self.makeTable(root)
    }

    /// Converts one node (and everything below it) into plain values; also used to finish inline tables.
    static func makeTable(_ table: Table) -> [String: TOMLValue] {
        var result: [String: TOMLValue] = [:]
        for (key, child) in table.children {
            switch child {
            case .value(let value, _):
                result[key] = value
            case .table(let nested):
                result[key] = .table(makeTable(nested))
            case .tableArray(let array):
                result[key] = .array(array.elements.map { .table(makeTable($0)) })
            }
        }
        return result
    }

    private static func line(of child: Child) -> Int {
        switch child {
        case .value(_, let line): line
        case .table(let table): table.line
        case .tableArray(let array): array.line
        }
    }

    /// "a string", "an inline table", ...: values stored as finished values that are tables are always inline.
    private static func describe(_ value: TOMLValue) -> String {
        switch value {
        case .integer, .array: "an \(value.typeName)"
        case .table: "an inline table"
        default: "a \(value.typeName)"
        }
    }

    /// Renders a key path the way it would be written, quoting components that are not valid bare keys.
    static func display(_ path: [String]) -> String {
        path.map { part in
            let isBare = !part.isEmpty && part.utf8.allSatisfy(TOMLParser.isBareKeyByte)
            return isBare ? part : "\"\(part)\""
        }.joined(separator: ".")
    }
}
