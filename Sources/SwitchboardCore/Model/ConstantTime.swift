/// Comparison whose time does not depend on where two strings differ (API keys, passcodes).
public enum ConstantTime {
    /// Whether `a` and `b` are equal, looking at every byte either way.
    public static func equals(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8)
        let y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for index in x.indices { difference |= x[index] ^ y[index] }
        return difference == 0
    }
}
