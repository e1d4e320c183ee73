/// The Orbited-style allow-list of `/tcp?host=H&port=P`: `HOST:PORT` or `HOST:LOW-HIGH` patterns; a
/// target is allowed only when one matches exactly (the host compared without case). Pure.
struct BridgeAllowList: Sendable {
    private struct Pattern: Sendable {
        let host: String
        let ports: ClosedRange<Int>
    }

    private let patterns: [Pattern]

    /// Why a pattern is not valid, or nil (for the configuration's checks).
    static func problem(with pattern: String) -> String? {
        parse(pattern) == nil ? "expected HOST:PORT or HOST:LOW-HIGH, e.g. 127.0.0.1:6667 or localhost:7000-7010" : nil
    }

    init(_ patterns: [String]) {
        self.patterns = patterns.compactMap(Self.parse)
    }

    var isEmpty: Bool { patterns.isEmpty }

    func allows(_ address: BridgeAddress) -> Bool {
        let host = address.host.lowercased()
        return patterns.contains { $0.host == host && $0.ports.contains(address.port) }
    }

    private static func parse(_ text: String) -> Pattern? {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else { return nil }
        var host = String(text[..<colon]).lowercased()
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let ports = text[text.index(after: colon)...].split(separator: "-", omittingEmptySubsequences: false)
        guard (1...2).contains(ports.count), let low = Int(ports[0]), let high = Int(ports.last!),
            1 <= low, low <= high, high <= 65535, !host.isEmpty
        else { return nil }
        return Pattern(host: host, ports: low...high)
    }
}
