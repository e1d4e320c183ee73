import NIOCore
import SwitchboardRedis
import Testing

@Suite struct RESPDecoderTests {
    /// Every RESP3 type, from the spec's examples.
    static let cases: [(String, RESPValue)] = [
        ("+OK\r\n", .simpleString("OK")),
        ("-ERR unknown command 'FOO'\r\n", .error("ERR unknown command 'FOO'")),
        (":1000\r\n", .integer(1000)),
        (":-42\r\n", .integer(-42)),
        ("$5\r\nhello\r\n", .bulkString(ByteBuffer(string: "hello"))),
        ("$0\r\n\r\n", .bulkString(ByteBuffer())),
        ("$4\r\na\r\nb\r\n", .bulkString(ByteBuffer(string: "a\r\nb"))),
        ("$-1\r\n", .null),
        ("*-1\r\n", .null),
        ("_\r\n", .null),
        ("#t\r\n", .boolean(true)),
        ("#f\r\n", .boolean(false)),
        (",1.5\r\n", .double(1.5)),
        (",-inf\r\n", .double(-.infinity)),
        ("(3492890328409238509324850943850943825024385\r\n", .bigNumber("3492890328409238509324850943850943825024385")),
        ("!21\r\nSYNTAX invalid syntax\r\n", .error("SYNTAX invalid syntax")),
        ("=15\r\ntxt:Some string\r\n", .verbatimString(ByteBuffer(string: "Some string"))),
        ("*0\r\n", .array([])),
        (
            "*3\r\n:1\r\n$3\r\nfoo\r\n*1\r\n_\r\n",
            .array([.integer(1), .bulkString(ByteBuffer(string: "foo")), .array([.null])])
        ),
        ("~2\r\n+a\r\n+b\r\n", .set([.simpleString("a"), .simpleString("b")])),
        (
            "%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n",
            .map([RESPPair(.simpleString("first"), .integer(1)), RESPPair(.simpleString("second"), .integer(2))])
        ),
        (
            ">3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
            .push([
                .bulkString(ByteBuffer(string: "smessage")), .bulkString(ByteBuffer(string: "news")),
                .bulkString(ByteBuffer(string: "hi")),
            ])
        ),
        // An attribute annotates the value after it, which is what is returned.
        ("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*1\r\n:2\r\n", .array([.integer(2)])),
    ]

    @Test func decodesEveryTypeWhole() throws {
        for (wire, expected) in Self.cases {
            var buffer = ByteBuffer(string: wire)
            #expect(try RESPDecoder().next(from: &buffer) == expected, "\(wire.debugDescription)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func decodesEveryTypeDripFed() throws {
        for (wire, expected) in Self.cases {
            var buffer = ByteBuffer()
            var decoded: [RESPValue] = []
            for byte in wire.utf8 {
                buffer.writeInteger(byte)
                if let value = try RESPDecoder().next(from: &buffer) { decoded.append(value) }
            }
            #expect(decoded == [expected], "\(wire.debugDescription)")
            #expect(buffer.readableBytes == 0)
        }
    }

    @Test func decodesManyValuesFromOneBuffer() throws {
        var buffer = ByteBuffer(string: Self.cases.map(\.0).joined() + "+partial")
        var decoded: [RESPValue] = []
        while let value = try RESPDecoder().next(from: &buffer) { decoded.append(value) }
        #expect(decoded == Self.cases.map(\.1))
        #expect(String(buffer: buffer) == "+partial", "an incomplete value is left for later")
    }

    @Test func keepsBinaryPayloads() throws {
        var buffer = ByteBuffer(string: "$4\r\n")
        buffer.writeBytes([0, 0xFF, 13, 10])
        buffer.writeString("\r\n")
        #expect(try RESPDecoder().next(from: &buffer)?.bytes == ByteBuffer(bytes: [0, 0xFF, 13, 10]))
    }

    @Test func refusesBrokenInput() {
        let broken = [
            "?what\r\n",  // unknown type
            ":12a\r\n",  // not a number
            ":\r\n",
            ":99999999999999999999\r\n",  // overflow
            "$3\r\nabcd\r\n",  // bulk longer than declared: no CRLF where it should be
            "#x\r\n",
            ",pi\r\n",
            "$-2\r\n",
            "*-2\r\n",
            "+OK\rX",  // CR without LF
            "$?\r\n",  // streamed strings are not supported
        ]
        for wire in broken {
            var buffer = ByteBuffer(string: wire)
            #expect(throws: RESPDecodingError.self, "\(wire.debugDescription)") {
                try RESPDecoder().next(from: &buffer)
            }
        }
    }

    @Test func enforcesLimits() throws {
        let decoder = RESPDecoder(limits: .init(maxLineLength: 16, maxBulkLength: 8, maxAggregateCount: 4, maxDepth: 2))
        for wire in ["+" + String(repeating: "x", count: 40), "$9\r\n", "*5\r\n", "%3\r\n", "*1\r\n*1\r\n*1\r\n:1\r\n"]
        {
            var buffer = ByteBuffer(string: wire)
            #expect(throws: RESPDecodingError.self, "\(wire.debugDescription)") { try decoder.next(from: &buffer) }
        }
        // A line at the limit is fine, and a line still arriving below it is waited for.
        var atLimit = ByteBuffer(string: "+" + String(repeating: "x", count: 16) + "\r\n")
        #expect(throws: Never.self) { try decoder.next(from: &atLimit) }
        var arriving = ByteBuffer(string: "+" + String(repeating: "x", count: 10))
        #expect(try decoder.next(from: &arriving) == nil)
    }

    @Test func aLengthClaimDoesNotAllocateAhead() throws {
        // A million elements announced, two arrived: nothing decoded yet, nothing thrown.
        var buffer = ByteBuffer(string: "*1000000\r\n:1\r\n:2\r\n")
        #expect(try RESPDecoder().next(from: &buffer) == nil)
        #expect(buffer.readerIndex == 0)
    }

    @Test func encodesCommandsAsArraysOfBulkStrings() {
        var buffer = ByteBuffer()
        RESPCommand("HSET", "sb:{news}:m", .bytes(ByteBuffer(string: "é")), .integer(-7)).encode(into: &buffer)
        #expect(String(buffer: buffer) == "*4\r\n$4\r\nHSET\r\n$11\r\nsb:{news}:m\r\n$2\r\né\r\n$2\r\n-7\r\n")
        #expect(RESPCommand("auth", "user", "secret").description == "AUTH (2 arguments)", "no values in logs")
    }
}
