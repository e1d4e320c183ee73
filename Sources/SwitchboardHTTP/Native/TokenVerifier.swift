import Foundation
import SwitchboardCore

/// Checks the `token` of a native-protocol `connect`: a JWT signed with HMAC-SHA-256 (`alg` `HS256`) with
/// the configured secret (`security.token_secret`). The user is its `sub` claim; `exp` and `nbf` (seconds
/// since the Unix epoch) are enforced; an `info` claim becomes the client info shown in presence.
struct TokenVerifier: Sendable {
    struct Identity: Equatable {
        var user: String
        var info: String?
    }

    let secret: [UInt8]

    init(secret: String) {
        self.secret = Array(secret.utf8)
    }

    /// The identity in `token`, or why it is refused.
    func verify(_ token: String, now: Int64) -> Result<Identity, NativeError> {
        verifyDetail(token, now: now).mapError { NativeError(.invalidToken, $0.reason) }
    }

    private struct Refusal: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    private func verifyDetail(_ token: String, now: Int64) -> Result<Identity, Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, let headerBytes = Base64.decode(String(parts[0])),
            let header = try? JSONSerialization.jsonObject(with: Data(headerBytes)) as? [String: Any],
            let claimBytes = Base64.decode(String(parts[1])),
            let claims = try? JSONSerialization.jsonObject(with: Data(claimBytes)) as? [String: Any],
            let signature = Base64.decode(String(parts[2]))
        else { return .failure(Refusal("the token is not a JWT (three base64url parts, JSON header and claims)")) }
        guard header["alg"] as? String == "HS256" else {
            return .failure(Refusal("the token must be signed with HS256"))
        }
        let expected = SHA256.hmac(key: secret, message: Array("\(parts[0]).\(parts[1])".utf8))
        guard signature.count == expected.count,
            zip(signature, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0
        else { return .failure(Refusal("the token's signature does not match (security.token_secret)")) }
        let seconds = now / 1000
        if let expiry = (claims["exp"] as? NSNumber)?.int64Value, seconds >= expiry {
            return .failure(Refusal("the token has expired"))
        }
        if let notBefore = (claims["nbf"] as? NSNumber)?.int64Value, seconds < notBefore {
            return .failure(Refusal("the token is not valid yet"))
        }
        guard let user = claims["sub"] as? String, (1...255).contains(user.utf8.count) else {
            return .failure(Refusal("the token has no \"sub\" claim (the user, 1 to 255 bytes)"))
        }
        var info: String?
        if let value = claims["info"], let data = JSONText.encodeContainer(value) {
            info = String(decoding: data, as: UTF8.self)
        }
        return .success(Identity(user: user, info: info))
    }
}
