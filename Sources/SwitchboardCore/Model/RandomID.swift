/// Random identifiers of lowercase letters and digits: channel epochs, STOMP sessions, native-protocol
/// client and session ids.
public enum RandomID {
    private static let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)

    /// `length` random characters from `generator`.
    public static func make<G: RandomNumberGenerator>(length: Int, using generator: inout G) -> String {
        var bytes = [UInt8]()
        bytes.reserveCapacity(length)
        for _ in 0..<length { bytes.append(alphabet[Int.random(in: 0..<alphabet.count, using: &generator)]) }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `length` characters from the system's secure generator.
    public static func make(length: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return make(length: length, using: &generator)
    }
}

extension Substring {
    /// Without leading and trailing spaces (header values, comma-separated lists).
    public var trimmingSpaces: Substring {
        var text = self
        while text.first == " " { text = text.dropFirst() }
        while text.last == " " { text = text.dropLast() }
        return text
    }
}
