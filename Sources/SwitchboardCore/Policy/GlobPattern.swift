/// `*` (any run of characters) and `?` (any one character) matching, for channel and queue patterns
/// (`security.client_publish`, `stomp.user` read/write lists, a token's `channels` claim).
public enum GlobPattern {
    /// Whether `text` matches `pattern` entirely.
    public static func matches(_ pattern: String, _ text: some StringProtocol) -> Bool {
        let p = Array(pattern.utf8)
        let t = Array(text.utf8)
        var (pi, ti) = (0, 0)
        var (starP, starT) = (-1, 0)
        while ti < t.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == t[ti] {
                pi += 1
                ti += 1
            } else if pi < p.count, p[pi] == UInt8(ascii: "*") {
                starP = pi
                starT = ti
                pi += 1
            } else if starP >= 0 {
                pi = starP + 1
                starT += 1
                ti = starT
            } else {
                return false
            }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }

    /// Whether any of `patterns` matches `text`.
    public static func anyMatches(_ patterns: [String], _ text: some StringProtocol) -> Bool {
        patterns.contains { matches($0, text) }
    }
}
