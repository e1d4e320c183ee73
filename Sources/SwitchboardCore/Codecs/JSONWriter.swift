package import NIOCore

/// A minimal JSON writer for the server's answers: objects built with ordered keys, written straight into
/// a `ByteBuffer`, no intermediate dictionaries.
package struct JSONWriter {
    package private(set) var buffer: ByteBuffer
    private var needsComma: [Bool] = [false]

    package init(allocator: ByteBufferAllocator = ByteBufferAllocator(), capacity: Int = 256) {
        self.buffer = allocator.buffer(capacity: capacity)
    }

    package mutating func beginObject(_ key: String? = nil) { open(key, "{") }
    package mutating func endObject() { close("}") }
    package mutating func beginArray(_ key: String? = nil) { open(key, "[") }
    package mutating func endArray() { close("]") }

    package mutating func string(_ key: String?, _ value: String?) {
        separator(key)
        if let value { Self.writeString(value, into: &buffer) } else { buffer.writeStaticString("null") }
    }

    package mutating func integer(_ key: String?, _ value: Int) {
        separator(key)
        buffer.writeString(String(value))
    }

    package mutating func int64(_ key: String?, _ value: Int64) {
        separator(key)
        buffer.writeString(String(value))
    }

    package mutating func double(_ key: String?, _ value: Double) {
        separator(key)
        buffer.writeString(value.isFinite ? String(value) : "null")
    }

    package mutating func bool(_ key: String?, _ value: Bool) {
        separator(key)
        buffer.writeStaticString(value ? "true" : "false")
    }

    /// Writes already-serialised JSON (e.g. a payload known to be a JSON document).
    package mutating func raw(_ key: String?, _ json: ByteBuffer) {
        separator(key)
        var json = json
        buffer.writeBuffer(&json)
    }

    private mutating func open(_ key: String?, _ bracket: StaticString) {
        separator(key)
        buffer.writeStaticString(bracket)
        needsComma.append(false)
    }

    private mutating func close(_ bracket: StaticString) {
        needsComma.removeLast()
        buffer.writeStaticString(bracket)
    }

    private mutating func separator(_ key: String?) {
        if needsComma[needsComma.count - 1] { buffer.writeStaticString(",") }
        needsComma[needsComma.count - 1] = true
        if let key {
            Self.writeString(key, into: &buffer)
            buffer.writeStaticString(":")
        }
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    /// Writes `value` as a JSON string literal (RFC 8259 §7). Runs of bytes that need no escaping (nearly
    /// all of a typical payload) are copied in one call, not byte by byte.
    package static func writeString(_ value: String, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"")
        var value = value
        value.withUTF8 { bytes in
            var runStart = 0
            for index in 0..<bytes.count {
                let byte = bytes[index]
                guard byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") else { continue }
                if runStart < index {
                    buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart..<index])))
                }
                runStart = index + 1
                switch byte {
                case UInt8(ascii: "\""): buffer.writeStaticString("\\\"")
                case UInt8(ascii: "\\"): buffer.writeStaticString("\\\\")
                case 0x0A: buffer.writeStaticString("\\n")
                case 0x0D: buffer.writeStaticString("\\r")
                case 0x09: buffer.writeStaticString("\\t")
                default:
                    buffer.writeStaticString("\\u00")
                    buffer.writeInteger(Self.hexDigits[Int(byte >> 4)])
                    buffer.writeInteger(Self.hexDigits[Int(byte & 0x0F)])
                }
            }
            if runStart < bytes.count {
                buffer.writeBytes(UnsafeRawBufferPointer(UnsafeBufferPointer(rebasing: bytes[runStart...])))
            }
        }
        buffer.writeStaticString("\"")
    }
}
