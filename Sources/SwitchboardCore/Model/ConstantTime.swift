/// Comparison whose time does not depend on where two values differ (API keys, passcodes, signatures).
public enum ConstantTime {
    /// Whether `a` and `b` are equal, looking at every byte either way.
    public static func equals(_ a: String, _ b: String) -> Bool {
        equals(Array(a.utf8), Array(b.utf8))
    }

    /// Whether the byte sequences `a` and `b` are equal, looking at every byte either way.
    public static func equals(_ a: some Collection<UInt8>, _ b: some Collection<UInt8>) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
