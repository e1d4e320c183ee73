import NIOHTTP1

/// Who a request comes from: the peer of the TCP connection, or — when that peer is a trusted proxy
/// (`security.trusted_proxies`) — the client it forwards for (`Forwarded`, `X-Forwarded-For`,
/// `X-Real-IP`). Used for the loopback privilege, per-address limits and logs.
struct ForwardedClient: Sendable, Equatable {
    /// The client's address as text (an IP address, or what a proxy said when it is not one).
    var address: String
    /// Whether the client is on this machine (its address is a loopback address).
    var isLoopback: Bool
    /// Set when forwarding headers came from a peer that is not a trusted proxy: nothing they say is
    /// believed, and the request loses the loopback privilege (a proxy on this host would otherwise
    /// make every client "loopback").
    var forwardedByUntrustedPeer: Bool

    /// The client of a request from `peer` (nil: unknown, e.g. a Unix socket) with these headers.
    static func of(peer: String?, headers: HTTPHeaders, trustedProxies: [IPRange]) -> ForwardedClient {
        let peerAddress = peer.flatMap { IPAddress($0) }
        let peerText = peerAddress?.description ?? peer ?? "?"
        let direct = ForwardedClient(
            address: peerText,
            isLoopback: peerAddress?.isLoopback ?? (peer == nil),
            forwardedByUntrustedPeer: false
        )
        let chain = forwardedChain(headers)
        guard !chain.isEmpty else { return direct }
        guard let peerAddress, trustedProxies.contains(where: { $0.contains(peerAddress) }) else {
            var untrusted = direct
            untrusted.forwardedByUntrustedPeer = true
            return untrusted
        }
        // The nearest hop first: every trusted proxy on the way is skipped; the first address that is
        // not one is the client (anything left of it could have been written by the client itself).
        for hop in chain.reversed() {
            guard let address = IPAddress(hop) else {
                return ForwardedClient(address: hop, isLoopback: false, forwardedByUntrustedPeer: false)
            }
            if !trustedProxies.contains(where: { $0.contains(address) }) {
                return ForwardedClient(address: address.description, isLoopback: address.isLoopback, forwardedByUntrustedPeer: false)
            }
        }
        let first = IPAddress(chain[0])
        return ForwardedClient(
            address: first?.description ?? chain[0],
            isLoopback: first?.isLoopback ?? false,
            forwardedByUntrustedPeer: false
        )
    }

    /// The client addresses the forwarding headers list, farthest first: RFC 7239 `Forwarded` (`for=`),
    /// else `X-Forwarded-For`, else `X-Real-IP`. Ports and brackets are taken off.
    static func forwardedChain(_ headers: HTTPHeaders) -> [String] {
        let forwarded = headers[canonicalForm: "forwarded"]
        if !forwarded.isEmpty {
            var chain: [String] = []
            for element in forwarded {
                for pair in element.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == "for" else { continue }
                    chain.append(stripPort(String(parts[1].trimmingSpaces).trimmingCharacters(in: ["\""])))
                }
            }
            if !chain.isEmpty { return chain }
        }
        let xff = headers[canonicalForm: "x-forwarded-for"].map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
        if !xff.isEmpty { return xff.map(stripPort) }
        if let real = headers.first(name: "x-real-ip")?.trimmingCharacters(in: [" "]), !real.isEmpty {
            return [stripPort(real)]
        }
        return []
    }

    /// `1.2.3.4:80` → `1.2.3.4`, `[::1]:80` → `::1`; an address without a port is returned as it is.
    private static func stripPort(_ text: String) -> String {
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") {
            return String(text[text.index(after: text.startIndex)..<close])
        }
        if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            return String(text[..<colon])
        }
        return text
    }
}
