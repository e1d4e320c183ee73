/// The message padding SHA-1 and SHA-256 share (RFC 3174 §4, FIPS 180-4 §5.1.1): a 1 bit, zeros up to
/// 56 bytes mod 64, then the message's length in bits as a big-endian 64-bit number.
enum HashPadding {
    static func padded(_ message: [UInt8]) -> [UInt8] {
        var data = message
        data.reserveCapacity(message.count + 72)
        data.append(0x80)
        while data.count % 64 != 56 { data.append(0) }
        let bitLength = UInt64(message.count) * 8
        for shift in stride(from: 56, through: 0, by: -8) {
            data.append(UInt8(truncatingIfNeeded: bitLength >> UInt64(shift)))
        }
        return data
    }
}
