import Foundation

/// A compact JWS (RFC 7515 §7.1): `BASE64URL(header).BASE64URL(claims).BASE64URL(signature)`, split and
/// decoded strictly, before any key is tried.
struct JSONWebToken: Sendable {
    /// The algorithm the header names (`alg`).
    let algorithm: String
    /// The key id the header names (`kid`), if any.
    let keyID: String?
    /// The claims, as sent.
    let claims: Data
    /// What was signed: the first two parts, as ASCII.
    let signingInput: [UInt8]
    let signature: [UInt8]

    /// The largest token considered (a token is a header field or a command parameter; this bounds the
    /// work an anonymous client can ask for).
    static let maxLength = 16 * 1024

    init(parsing token: String) throws(TokenError) {
        guard token.utf8.count <= Self.maxLength else { throw TokenError("the token is over 16 KiB") }
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64URL.decode(parts[0]),
            let claimBytes = Base64URL.decode(parts[1]), let signature = Base64URL.decode(parts[2])
        else { throw .malformed }
        guard let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            (try? JSONSerialization.jsonObject(with: Data(claimBytes))) is [String: Any]
        else { throw .malformed }
        guard let algorithm = header["alg"] as? String else { throw TokenError("the token's header has no \"alg\"") }
        if let critical = header["crit"] {
            // RFC 7515 §4.1.11: extensions a recipient does not understand make the token invalid.
            throw TokenError("the token's header has critical extensions (\(critical)) this server does not know")
        }
        if let kid = header["kid"], !(kid is String) { throw TokenError("the token's \"kid\" is not a string") }
        self.algorithm = algorithm
        self.keyID = header["kid"] as? String
        self.claims = Data(claimBytes)
        self.signingInput = Array(parts[0].utf8) + [UInt8(ascii: ".")] + Array(parts[1].utf8)
        self.signature = signature
    }
}
