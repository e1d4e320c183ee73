/// Strict UTF-8 validation (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
///
/// Decides whether a payload goes out as a WebSocket text or binary frame, and whether a client's text
/// frame must be refused with close code 1007 (RFC 6455 §8.1).
public enum UTF8Validation {
    /// Whether `bytes` is entirely valid UTF-8.
    public static func isValid(_ bytes: some Collection<UInt8>) -> Bool {
        var validator = Validator()
        for byte in bytes where !validator.consume(byte) { return false }
        return validator.isComplete
    }

    /// An incremental validator, so fragmented text can be checked as it arrives (and fail fast).
    public struct Validator: Sendable {
        private var remaining = 0
        private var lowerBound: UInt8 = 0x80
        private var upperBound: UInt8 = 0xBF

        /// Creates a validator at a character boundary.
        public init() {}

        /// Whether the bytes so far end on a character boundary.
        public var isComplete: Bool { remaining == 0 }

        /// Feeds one byte; `false` as soon as the sequence can no longer be valid.
        @inline(__always)
        public mutating func consume(_ byte: UInt8) -> Bool {
            if remaining == 0 {
                switch byte {
                case 0x00...0x7F: return true
                case 0xC2...0xDF: remaining = 1
                case 0xE0:
                    remaining = 2
                    lowerBound = 0xA0
                case 0xE1...0xEC, 0xEE...0xEF: remaining = 2
                case 0xED:
                    remaining = 2
                    upperBound = 0x9F
                case 0xF0:
                    remaining = 3
                    lowerBound = 0x90
                case 0xF1...0xF3: remaining = 3
                case 0xF4:
                    remaining = 3
                    upperBound = 0x8F
                default: return false
                }
                return true
            }
            guard byte >= lowerBound, byte <= upperBound else { return false }
            lowerBound = 0x80
            upperBound = 0xBF
            remaining -= 1
            return true
        }
    }
}
