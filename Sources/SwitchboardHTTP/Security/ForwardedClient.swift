import Foundation
package import NIOHTTP1
import SwitchboardCore

/// The one header a trusted proxy names its client in (`security.forwarded_header`). Only that one is
/// believed: a proxy passes the others on as the client wrote them.
public enum ForwardingHeader: String, Sendable, CaseIterable {
    /// `X-Forwarded-For: client, proxy1` — appended to by nginx's `$proxy_add_x_forwarded_for`, HAProxy,
    /// cloud load balancers.
    case xForwardedFor = "x-forwarded-for"
    /// RFC 7239 `Forwarded: for=client;proto=https, for=proxy1`.
    case forwarded
    /// `X-Real-IP: client` — set (not appended to) by nginx's `proxy_set_header X-Real-IP $remote_addr`.
    case xRealIP = "x-real-ip"
}

/// Who a request comes from: the peer of the TCP connection, or — when that peer is a trusted proxy
/// (`security.trusted_proxies`) — the client it forwards for, from `security.forwarded_header`. Used for
/// the loopback privilege, per-address limits and logs.
package struct ForwardedClient: Sendable, Equatable {
    /// The client's address as text (an IP address, or what a proxy said when it is not one).
    package var address: String
    /// Whether the client's address is a loopback address.
    package var isLoopback: Bool
    /// Whether the request came through a trusted proxy. It never has the loopback privilege, whatever
    /// address the proxy names: a proxy on this host would otherwise lend it to every client, and a
    /// header the proxy did not set could be the client's own.
    package var isForwarded: Bool
    /// Set when forwarding headers came from a peer that is not a trusted proxy: nothing they say is
    /// believed, and the request loses the loopback privilege (a proxy on this host would otherwise
    /// make every client "loopback").
    package var forwardedByUntrustedPeer: Bool

    /// Whether the request may use the loopback privilege: it comes straight from this machine.
    package var isLocal: Bool { isLoopback && !isForwarded && !forwardedByUntrustedPeer }

    /// The client of a request from `peer` (nil: unknown) with these headers. An unknown peer is not
    /// loopback: nothing is granted on an address nobody saw.
    static func of(
        peer: String?,
        headers: HTTPHeaders,
        trustedProxies: [IPRange],
        header: ForwardingHeader = .xForwardedFor
    ) -> ForwardedClient {
        let peerAddress = peer.flatMap { IPAddress($0) }
        var client = ForwardedClient(
            address: peerAddress?.description ?? peer ?? "?",
            isLoopback: peerAddress?.isLoopback ?? false,
            isForwarded: false,
            forwardedByUntrustedPeer: false
        )
        guard let peerAddress, trustedProxies.contains(where: { $0.contains(peerAddress) }) else {
            client.forwardedByUntrustedPeer = ForwardingHeader.allCases.contains { !headers[$0.rawValue].isEmpty }
            return client
        }
        client.isForwarded = true
        // The nearest hop first: every trusted proxy on the way is skipped; the first address that is
        // not one is the client (anything left of it could have been written by the client itself).
        // Without the header, or when every hop is a trusted proxy, the client is the peer.
        for hop in chain(header, in: headers).reversed() {
            guard let address = IPAddress(hop) else {
                client.address = hop
                client.isLoopback = false
                return client
            }
            if !trustedProxies.contains(where: { $0.contains(address) }) {
                client.address = address.description
                client.isLoopback = address.isLoopback
                return client
            }
        }
        return client
    }

    /// The client addresses `header` lists, farthest first. Ports and brackets are taken off.
    package static func chain(_ header: ForwardingHeader, in headers: HTTPHeaders) -> [String] {
        switch header {
        case .forwarded:
            var chain: [String] = []
            for element in headers[canonicalForm: "forwarded"] {
                for pair in element.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingSpaces.lowercased() == "for" else { continue }
                    chain.append(stripPort(String(parts[1].trimmingSpaces).trimmingCharacters(in: ["\""])))
                }
            }
            return chain
        case .xForwardedFor:
            return headers[canonicalForm: "x-forwarded-for"].map { String($0.trimmingSpaces) }.filter { !$0.isEmpty }
                .map(stripPort)
        case .xRealIP:
            // Set by the proxy, not appended to: only the last one can be the proxy's.
            guard let real = headers["x-real-ip"].last?.trimmingCharacters(in: [" "]), !real.isEmpty else { return [] }
            return [stripPort(real)]
        }
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
