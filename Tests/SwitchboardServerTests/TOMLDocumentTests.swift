import Testing

@testable import SwitchboardServer

// Tests for the line-tracking TOML reader behind `switchboard check-config`. Values are checked through the
// public lookup API; every error case checks the reported line, since that is the reason this parser exists.

private func parse(_ text: String) throws -> TOMLDocument {
    try TOMLDocument(parsing: text)
}

/// The error `text` produces, or `nil` when it parses.
private func parseError(_ text: String) -> TOMLParseError? {
    do {
        _ = try TOMLDocument(parsing: text)
        return nil
    } catch {
        return error
    }
}

// MARK: - Values

@Test func basicStringsResolveEveryEscape() throws {
    let document = try parse(#"s = "tab\there\nquote\" back\\ bs\b ff\f cr\r é\u00E9 \U0001F600""#)
    #expect(document.value(at: ["s"]) == .string("tab\there\nquote\" back\\ bs\u{8} ff\u{C} cr\r é\u{E9} 😀"))
}

@Test func literalStringsKeepBackslashes() throws {
    let document = try parse(#"path = 'C:\Users\nodejs\templates'"#)
    #expect(document.value(at: ["path"]) == .string(#"C:\Users\nodejs\templates"#))
}

@Test func emptyStringsAndNonASCIIContent() throws {
    let document = try parse("a = \"\"\nb = ''\nc = \"日本語 ✓\"\n")
    #expect(document.value(at: ["a"]) == .string(""))
    #expect(document.value(at: ["b"]) == .string(""))
    #expect(document.value(at: ["c"]) == .string("日本語 ✓"))
}

@Test func multilineBasicStringsTrimFirstNewlineAndJoinBackslashLines() throws {
    let text = """
        a = \"\"\"
        Roses are red
        Violets are blue\"\"\"
        b = \"\"\"
        The quick brown \\


          fox jumps over \\
            the lazy dog.\"\"\"
        c = \"\"\"Here are two quotes: "". And one more before the end: \"\"\"\"
        """
    let document = try parse(text)
    #expect(document.value(at: ["a"]) == .string("Roses are red\nViolets are blue"))
    #expect(document.value(at: ["b"]) == .string("The quick brown fox jumps over the lazy dog."))
    #expect(document.value(at: ["c"]) == .string(#"Here are two quotes: "". And one more before the end: ""#))
    #expect(document.line(of: ["b"]) == 4)
    #expect(document.line(of: ["c"]) == 10)
}

@Test func multilineLiteralStringsAreVerbatim() throws {
    let text = "re = '''\nI [dw]on't need \\d{2} apples\n'''\nq = ''''That,' she said.''''\n"
    let document = try parse(text)
    #expect(document.value(at: ["re"]) == .string("I [dw]on't need \\d{2} apples\n"))
    #expect(document.value(at: ["q"]) == .string("'That,' she said.'"))
}

@Test func multilineStringsNormaliseCRLF() throws {
    let document = try parse("s = \"\"\"\r\none\r\ntwo\"\"\"\r\nt = 1\r\n")
    #expect(document.value(at: ["s"]) == .string("one\ntwo"))
    #expect(document.line(of: ["t"]) == 4)
}

@Test func integersInEveryNotation() throws {
    let text = """
        a = 42
        b = +17
        c = -17
        d = 0
        e = 1_000_000
        f = 0xDEAD_beef
        g = 0o755
        h = 0b1101_0110
        max = 9223372036854775807
        min = -9223372036854775808
        """
    let document = try parse(text)
    let expected: [String: Int64] = [
        "a": 42, "b": 17, "c": -17, "d": 0, "e": 1_000_000, "f": 0xDEAD_BEEF, "g": 0o755, "h": 0b1101_0110,
        "max": .max, "min": .min,
    ]
    for (key, value) in expected {
        #expect(document.value(at: [key]) == .integer(value), "key \(key)")
    }
}

@Test func floatsIncludingExponentsAndSpecialValues() throws {
    let text = """
        a = 3.1415
        b = -0.01
        c = 5e+22
        d = 1e06
        e = -2E-2
        f = 6.626e-34
        g = 224_617.445_991
        h = +inf
        i = -inf
        j = nan
        k = -0.0
        l = 0e0
        """
    let document = try parse(text)
    #expect(document.value(at: ["a"]) == .float(3.1415))
    #expect(document.value(at: ["b"]) == .float(-0.01))
    #expect(document.value(at: ["c"]) == .float(5e22))
    #expect(document.value(at: ["d"]) == .float(1e6))
    #expect(document.value(at: ["e"]) == .float(-0.02))
    #expect(document.value(at: ["f"]) == .float(6.626e-34))
    #expect(document.value(at: ["g"]) == .float(224_617.445_991))
    #expect(document.value(at: ["h"]) == .float(.infinity))
    #expect(document.value(at: ["i"]) == .float(-.infinity))
    #expect(document.value(at: ["j"])?.floatValue?.isNaN == true)
    #expect(document.value(at: ["k"])?.floatValue?.sign == .minus)
    #expect(document.value(at: ["l"]) == .float(0))
}

@Test func booleans() throws {
    let document = try parse("on = true\noff = false")
    #expect(document.value(at: ["on"]) == .boolean(true))
    #expect(document.value(at: ["off"]) == .boolean(false))
}

@Test func dateTimesAreValidatedAndKeptAsRawText() throws {
    let text = """
        odt1 = 1979-05-27T07:32:00Z
        odt2 = 1979-05-27T00:32:00.999999-07:00
        odt3 = 1979-05-27 07:32:00+01:00
        ldt = 1979-05-27T07:32:00
        ld = 2024-02-29
        lt = 00:32:00.5
        """
    let document = try parse(text)
    #expect(document.value(at: ["odt1"]) == .string("1979-05-27T07:32:00Z"))
    #expect(document.value(at: ["odt2"]) == .string("1979-05-27T00:32:00.999999-07:00"))
    #expect(document.value(at: ["odt3"]) == .string("1979-05-27 07:32:00+01:00"))
    #expect(document.value(at: ["ldt"]) == .string("1979-05-27T07:32:00"))
    #expect(document.value(at: ["ld"]) == .string("2024-02-29"))
    #expect(document.value(at: ["lt"]) == .string("00:32:00.5"))
}

@Test func arraysNestMixSpanLinesAndAllowTrailingCommas() throws {
    let text = """
        empty = []
        nested = [[1, 2], ["a", 'b'], [[]]]
        mixed = [1, 2.5, "three", true, { x = 1 }]
        spread = [   # comment after the bracket
            "one",   # first

            "two",   # second, with a trailing comma
        ]
        after = 1
        """
    let document = try parse(text)
    #expect(document.value(at: ["empty"]) == .array([]))
    #expect(
        document.value(at: ["nested"])
            == .array([
                .array([.integer(1), .integer(2)]), .array([.string("a"), .string("b")]), .array([.array([])]),
            ])
    )
    #expect(
        document.value(at: ["mixed"])
            == .array([
                .integer(1), .float(2.5), .string("three"), .boolean(true), .table(["x": .integer(1)]),
            ])
    )
    #expect(document.value(at: ["spread"]) == .array([.string("one"), .string("two")]))
    #expect(document.line(of: ["spread", "0"]) == 5)
    #expect(document.line(of: ["spread", "1"]) == 7)
    #expect(document.value(at: ["mixed", "4", "x"]) == .integer(1))
    #expect(document.line(of: ["after"]) == 9)
}

@Test func inlineTablesWithNestingAndDottedKeys() throws {
    let text = """
        point = { x = 1, y = 2 }
        empty = {}
        animal = { type.name = "pug", type.size = "small", tags = ["a"], owner = { name = "Ann" } }
        """
    let document = try parse(text)
    #expect(document.value(at: ["point"]) == .table(["x": .integer(1), "y": .integer(2)]))
    #expect(document.value(at: ["empty"]) == .table([:]))
    #expect(document.value(at: ["animal", "type", "name"]) == .string("pug"))
    #expect(document.value(at: ["animal", "owner", "name"]) == .string("Ann"))
    // Keys inside inline tables are entries too, so they can be validated like any other key.
    #expect(
        document.entries.map(\.keyPath) == [
            ["point", "x"], ["point", "y"], ["animal", "type", "name"], ["animal", "type", "size"], ["animal", "tags"],
            ["animal", "owner", "name"],
        ]
    )
}

// MARK: - Keys and tables

@Test func bareQuotedAndDottedKeys() throws {
    let text = """
        bare_key-1 = 1
        1234 = 2
        "127.0.0.1" = 3
        'quoted "value"' = 4
        "" = 5
        site . "google.com" . rank = 6
        3.14159 = "pi"
        """
    let document = try parse(text)
    #expect(document.value(at: ["bare_key-1"]) == .integer(1))
    #expect(document.value(at: ["1234"]) == .integer(2))
    #expect(document.value(at: ["127.0.0.1"]) == .integer(3))
    #expect(document.value(at: [#"quoted "value""#]) == .integer(4))
    #expect(document.value(at: [""]) == .integer(5))
    #expect(document.value(at: ["site", "google.com", "rank"]) == .integer(6))
    #expect(document.value(at: ["3", "14159"]) == .string("pi"))
    #expect(document.line(of: ["site", "google.com"]) == 6)
}

@Test func tablesImplicitParentsAndDottedSubTables() throws {
    let text = """
        [a.b.c]
        x = 1
        [a]          # defining an implied table once is allowed
        y = 2
        [fruit]
        apple.color = "red"
        [fruit.apple.texture]  # sub-tables of dotted-key tables are allowed
        smooth = true
        """
    let document = try parse(text)
    #expect(document.value(at: ["a", "b", "c", "x"]) == .integer(1))
    #expect(document.value(at: ["a", "y"]) == .integer(2))
    #expect(document.value(at: ["fruit", "apple", "texture", "smooth"]) == .boolean(true))
    #expect(document.line(of: ["a"]) == 3)
    #expect(document.line(of: ["a", "b"]) == 1)
    #expect(document.line(of: ["fruit", "apple"]) == 6)
    #expect(document.tableHeaders.map(\.path) == [["a", "b", "c"], ["a"], ["fruit"], ["fruit", "apple", "texture"]])
}

@Test func arraysOfTablesGetIndexedPaths() throws {
    let text = """
        [[bridge.route]]
        path = "/a"

        [[bridge.route]]
        path = "/b"
        [bridge.route.auth]
        user = "u"
        [[bridge.route.header]]
        name = "X-One"

        [[bridge.route]]
        """
    let document = try parse(text)
    #expect(
        document.entries == [
            TOMLEntry(keyPath: ["bridge", "route", "0", "path"], value: .string("/a"), line: 2),
            TOMLEntry(keyPath: ["bridge", "route", "1", "path"], value: .string("/b"), line: 5),
            TOMLEntry(keyPath: ["bridge", "route", "1", "auth", "user"], value: .string("u"), line: 7),
            TOMLEntry(keyPath: ["bridge", "route", "1", "header", "0", "name"], value: .string("X-One"), line: 9),
        ]
    )
    #expect(
        document.tableHeaders.map(\.resolvedPath) == [
            ["bridge", "route", "0"], ["bridge", "route", "1"], ["bridge", "route", "1", "auth"],
            ["bridge", "route", "1", "header", "0"], ["bridge", "route", "2"],
        ]
    )
    #expect(document.tableHeaders.map(\.isArrayOfTables) == [true, true, false, true, true])
    #expect(document.value(at: ["bridge", "route"])?.arrayValue?.count == 3)
    #expect(document.value(at: ["bridge", "route", "2"]) == .table([:]))
    #expect(document.line(of: ["bridge", "route"]) == 1)
    #expect(document.line(of: ["bridge", "route", "2"]) == 11)
}

@Test func lookupsOfMissingPathsReturnNil() throws {
    let document = try parse("a = [1]\n[t]\nk = 'v'")
    #expect(document.value(at: []) == .table(["a": .array([.integer(1)]), "t": .table(["k": .string("v")])]))
    #expect(document.value(at: ["missing"]) == nil)
    #expect(document.value(at: ["t", "k", "deeper"]) == nil)
    #expect(document.value(at: ["a", "1"]) == nil)
    #expect(document.value(at: ["a", "x"]) == nil)
    #expect(document.line(of: ["t", "missing"]) == nil)
    #expect(document.line(of: ["t"]) == 2)
}

@Test func commentsBlankLinesBOMAndCRLF() throws {
    let text = "\u{FEFF}# header comment\r\n\r\n  a = 1 # trailing\r\n\t[t] # table\r\nb = \"# not a comment\"\r\n"
    let document = try parse(text)
    #expect(
        document.entries == [
            TOMLEntry(keyPath: ["a"], value: .integer(1), line: 3),
            TOMLEntry(keyPath: ["t", "b"], value: .string("# not a comment"), line: 5),
        ]
    )
    #expect(try parse("").entries.isEmpty)
    #expect(try parse("# only a comment").root.isEmpty)
}

@Test func realisticConfigurationFile() throws {
    let text = """
        # Switchboard configuration

        [server]
        http = "0.0.0.0:8000"
        threads = 0
        shutdown_timeout = 10.5
        log_level = 'info'

        [channels]
        history_size = 1_000
        history_ttl = 3600
        message_template = \"\"\"
        ~id~: ~text~
        \"\"\"
        allowed_origins = [
            "https://example.com",    # production
            "http://localhost:3000",  # development
        ]

        [limits]
        max_message_size = 0x10_0000
        rates = { publish = 250, subscribe = 1e3 }

        [[bridge.route]]
        path = "/feeds/*"
        enabled = true
        """
    let document = try parse(text)
    let summary = document.entries.map { "\($0.keyPath.joined(separator: ".")):\($0.line)" }
    #expect(
        summary == [
            "server.http:4", "server.threads:5", "server.shutdown_timeout:6", "server.log_level:7",
            "channels.history_size:10", "channels.history_ttl:11", "channels.message_template:12",
            "channels.allowed_origins:15", "limits.max_message_size:21", "limits.rates.publish:22",
            "limits.rates.subscribe:22", "bridge.route.0.path:25", "bridge.route.0.enabled:26",
        ]
    )
    #expect(document.tableHeaders.map(\.line) == [3, 9, 20, 24])
    #expect(document.value(at: ["channels", "message_template"]) == .string("~id~: ~text~\n"))
    #expect(document.value(at: ["limits", "max_message_size"]) == .integer(1 << 20))
    #expect(document.value(at: ["limits", "rates", "subscribe"]) == .float(1000))
    #expect(document.value(at: ["server", "shutdown_timeout"])?.typeName == "float")
    #expect(document.line(of: ["channels", "allowed_origins", "1"]) == 17)
}

@Test func valueAccessorsAndTypeNames() {
    #expect(TOMLValue.string("s").stringValue == "s")
    #expect(TOMLValue.integer(1).integerValue == 1)
    #expect(TOMLValue.integer(1).floatValue == nil)
    #expect(TOMLValue.float(1.5).floatValue == 1.5)
    #expect(TOMLValue.boolean(true).boolValue == true)
    #expect(TOMLValue.array([]).arrayValue == [])
    #expect(TOMLValue.table([:]).tableValue == [:])
    #expect(TOMLValue.string("s").integerValue == nil)
    let names = [TOMLValue.string(""), .integer(0), .float(0), .boolean(false), .array([]), .table([:])].map(\.typeName)
    #expect(names == ["string", "integer", "float", "boolean", "array", "table"])
    #expect(TOMLParseError(line: 3, message: "oops").description == "line 3: oops")
}

// MARK: - Errors

/// A document that must fail, the line the error must point at and a fragment of the expected message.
struct TOMLErrorCase: Sendable, CustomTestStringConvertible {
    let name: String
    let text: String
    let line: Int
    let message: String

    var testDescription: String { name }
}

private let errorCases: [TOMLErrorCase] = [
    // Duplicate keys and redefined tables.
    .init(
        name: "duplicate key",
        text: "a = 1\nb = 2\na = 3",
        line: 3,
        message: "duplicate key 'a' (first defined at line 1)"
    ),
    .init(name: "duplicate key in table", text: "[s]\nx = 1\n\nx = 2", line: 4, message: "duplicate key 'x'"),
    .init(name: "duplicate dotted key", text: "a.b = 1\na.b = 2", line: 2, message: "duplicate key 'a.b'"),
    .init(name: "duplicate quoted key", text: "a = 1\n\"a\" = 2", line: 2, message: "duplicate key 'a'"),
    .init(name: "duplicate in inline table", text: "\np = { x = 1, x = 2 }", line: 2, message: "duplicate key 'x'"),
    .init(
        name: "redefined table",
        text: "[a]\nx = 1\n[b]\n[a]",
        line: 4,
        message: "table [a] is already defined at line 1"
    ),
    .init(name: "implied table defined twice", text: "[a.b]\n[a]\n[a]", line: 3, message: "already defined at line 2"),
    .init(
        name: "header reopens dotted table",
        text: "a.b = 1\n[a]",
        line: 2,
        message: "created by dotted keys at line 1"
    ),
    .init(
        name: "dotted key into header table",
        text: "[a.b]\nx = 1\n[a]\nb.y = 2",
        line: 4,
        message: "table 'b' was created by a table header at line 1"
    ),
    .init(
        name: "header extends inline table",
        text: "a = { x = 1 }\n[a]",
        line: 2,
        message: "already holds an inline table (line 1)"
    ),
    .init(
        name: "dotted key extends inline table",
        text: "a = { x = 1 }\na.y = 2",
        line: 2,
        message: "already holds an inline table"
    ),
    // A key used first as a value and then as a table (or the other way round).
    .init(name: "value then table", text: "a = 1\n[a]", line: 2, message: "key 'a' already holds an integer (line 1)"),
    .init(
        name: "value then sub-table",
        text: "[s]\nt = 'x'\n[s.t.u]",
        line: 3,
        message: "key 's.t' already holds a string (line 2)"
    ),
    .init(
        name: "value then dotted key",
        text: "a = true\na.b = 2",
        line: 2,
        message: "'a' already holds a boolean (line 1)"
    ),
    .init(name: "table then value", text: "[a.b]\n[a]\nb = 1", line: 3, message: "duplicate key 'b'"),
    .init(
        name: "static array then array of tables",
        text: "a = [1]\n[[a]]",
        line: 2,
        message: "already holds an array (line 1)"
    ),
    .init(
        name: "array of tables then table",
        text: "[[a]]\n[a]",
        line: 2,
        message: "already an array of tables (line 1)"
    ),
    .init(name: "table then array of tables", text: "[a]\n[[a]]", line: 2, message: "already a table (line 1)"),
    .init(
        name: "dotted key into array of tables",
        text: "[[t.a]]\n[t]\na.x = 1",
        line: 3,
        message: "'a' is an array of tables (line 1)"
    ),
    // Strings.
    .init(
        name: "unterminated basic string",
        text: "\n\nname = \"abc\nnext = 1",
        line: 3,
        message: "unterminated string"
    ),
    .init(
        name: "unterminated literal string",
        text: "x = 'abc",
        line: 1,
        message: "unterminated string: missing closing '"
    ),
    .init(name: "unterminated quoted key", text: "a = 1\n\"key = 2", line: 2, message: "unterminated string"),
    .init(
        name: "unterminated multi-line string",
        text: "a = 1\nb = \"\"\"\nabc\n",
        line: 2,
        message: "unterminated multi-line string"
    ),
    .init(name: "unterminated multi-line literal", text: "a = '''\n\n", line: 1, message: "missing closing '''"),
    .init(
        name: "invalid escape",
        text: "\ns = \"a\\qb\"",
        line: 2,
        message: "invalid escape sequence: '\\' followed by 'q'"
    ),
    .init(name: "hex escape is not TOML 1.0", text: "s = \"\\x41\"", line: 1, message: "invalid escape sequence"),
    .init(
        name: "short unicode escape",
        text: "s = \"\\u12\"",
        line: 1,
        message: "\\u must be followed by 4 hexadecimal digits"
    ),
    .init(name: "surrogate escape", text: "s = \"\\uD800\"", line: 1, message: "is not a Unicode scalar value"),
    .init(
        name: "invalid escape inside multi-line string",
        text: "s = \"\"\"\nok\nbad \\q\n\"\"\"",
        line: 3,
        message: "invalid escape sequence"
    ),
    .init(name: "control character in string", text: "s = \"a\u{01}b\"", line: 1, message: "control character U+0001"),
    .init(
        name: "multi-line key",
        text: "\"\"\"a\"\"\" = 1",
        line: 1,
        message: "multi-line strings cannot be used as keys"
    ),
    .init(name: "too many closing quotes", text: "s = \"\"\"a\"\"\"\"\"\"", line: 1, message: "too many quotes"),
    // Numbers.
    .init(name: "leading zero", text: "\nport = 0123", line: 2, message: "leading zeros are not allowed"),
    .init(name: "leading zero in float", text: "x = 01.5", line: 1, message: "leading zeros are not allowed"),
    .init(name: "double underscore", text: "n = 1__0", line: 1, message: "invalid number '1__0'"),
    .init(name: "trailing underscore", text: "n = 10_", line: 1, message: "invalid number '10_'"),
    .init(name: "integer overflow", text: "n = 9223372036854775808", line: 1, message: "does not fit in 64 bits"),
    .init(name: "negative overflow", text: "n = -9223372036854775809", line: 1, message: "does not fit in 64 bits"),
    .init(name: "hex overflow", text: "n = 0x8000000000000000", line: 1, message: "does not fit in 64 bits"),
    .init(name: "signed hex", text: "n = -0x1", line: 1, message: "cannot have a sign"),
    .init(name: "bad binary digit", text: "n = 0b102", line: 1, message: "invalid number '0b102'"),
    .init(name: "trailing dot", text: "f = 1.", line: 1, message: "invalid number '1.'"),
    .init(name: "leading dot", text: "f = -.5", line: 1, message: "invalid number '-.5'"),
    .init(name: "empty exponent", text: "f = 1e", line: 1, message: "invalid number '1e'"),
    .init(name: "float overflow", text: "f = 1e400", line: 1, message: "out of range"),
    .init(name: "invalid date", text: "d = 2023-02-29", line: 1, message: "invalid date-time '2023-02-29'"),
    .init(name: "short date", text: "d = 2023-2-01", line: 1, message: "invalid date-time"),
    .init(name: "time without seconds", text: "t = 07:32", line: 1, message: "invalid date-time '07:32'"),
    // Keys, '=' and line structure.
    .init(
        name: "missing equals",
        text: "[s]\nname \"x\"",
        line: 2,
        message: "expected '=' after key 'name', found '\"'"
    ),
    .init(
        name: "key without value",
        text: "a = 1\nkey\n",
        line: 2,
        message: "expected '=' after key 'key', found end of line"
    ),
    .init(name: "missing value", text: "a =\nb = 1", line: 1, message: "expected a value, found end of line"),
    .init(
        name: "unquoted string",
        text: "name = hello",
        line: 1,
        message: "invalid value 'hello'; strings must be quoted"
    ),
    .init(name: "non-ASCII bare key", text: "\nké = 1", line: 2, message: "'é' is not allowed in a bare key"),
    .init(name: "punctuation in bare key", text: "a$b = 1", line: 1, message: "'$' is not allowed in a bare key"),
    .init(name: "YAML-style key", text: "[s]\n\nport: 80", line: 3, message: "':' is not allowed in a bare key"),
    .init(name: "empty key", text: "= 1", line: 1, message: "expected a key, found '='"),
    .init(name: "garbage after integer", text: "a = 1 2", line: 1, message: "unexpected '2' after value"),
    .init(name: "garbage after string", text: "a = \"x\" y", line: 1, message: "unexpected 'y' after value"),
    .init(name: "garbage after array", text: "a = [\n1,\n] ]", line: 3, message: "unexpected ']' after value"),
    .init(name: "garbage after header", text: "[s] x = 1", line: 1, message: "unexpected 'x' after table header"),
    .init(name: "two keys on a line", text: "a = 1 b = 2", line: 1, message: "unexpected 'b' after value"),
    .init(
        name: "unclosed header",
        text: "[server\nport = 1",
        line: 1,
        message: "expected ']' to close the table header"
    ),
    .init(name: "unclosed array-of-tables header", text: "[[route]\n", line: 1, message: "expected ']]'"),
    .init(name: "empty header", text: "[]", line: 1, message: "expected a key, found ']'"),
    .init(
        name: "bare carriage return",
        text: "a = 1\rb = 2",
        line: 1,
        message: "carriage return must be followed by a line feed"
    ),
    .init(name: "control character in comment", text: "# a\u{7F}b", line: 1, message: "not allowed in a comment"),
    .init(name: "CRLF line counting", text: "a = 1\r\nb = 2\r\na = 3\r\n", line: 3, message: "duplicate key 'a'"),
    // Arrays and inline tables.
    .init(name: "unterminated array", text: "a = [\n1,\n2\n", line: 1, message: "unterminated array"),
    .init(
        name: "array missing comma",
        text: "a = [\n1\n2]",
        line: 3,
        message: "expected ',' or ']' after array element, found '2'"
    ),
    .init(name: "array double comma", text: "a = [1,,2]", line: 1, message: "expected a value, found ','"),
    .init(name: "unterminated inline table", text: "a = { x = 1", line: 1, message: "unterminated inline table"),
    .init(
        name: "newline in inline table",
        text: "a = { x = 1,\n y = 2 }",
        line: 1,
        message: "unterminated inline table"
    ),
    .init(name: "trailing comma in inline table", text: "a = { x = 1, }", line: 1, message: "trailing comma"),
    .init(name: "inline table missing comma", text: "a = { x = 1 y = 2 }", line: 1, message: "expected ',' or '}'"),
    .init(
        name: "nesting too deep",
        text: "a = " + String(repeating: "[", count: 200),
        line: 1,
        message: "nested more than"
    ),
]

@Test(arguments: errorCases)
func reportsErrorsWithLines(_ errorCase: TOMLErrorCase) {
    guard let error = parseError(errorCase.text) else {
        Issue.record("expected an error for \(errorCase.name)")
        return
    }
    #expect(error.line == errorCase.line, "\(error)")
    #expect(error.message.contains(errorCase.message), "\(error)")
}

@Test func everyErrorLineIsWithinTheDocument() {
    for errorCase in errorCases {
        // Split bytes, not Characters: "\r\n" is a single Character.
        let lineCount = errorCase.text.utf8.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
        if let error = parseError(errorCase.text) {
            #expect((1...lineCount).contains(error.line), "\(errorCase.name): \(error)")
        }
    }
}
