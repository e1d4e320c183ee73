import Crypto
import Foundation
import SwitchboardCore
import Synchronization

/// Checks signed tokens (JWS, RFC 7515) wherever a client shows one: the native protocol's `connect` and
/// `refresh`, Socket.IO's `auth`, `?access_token=` on subscriptions and bridged paths. HS256 with
/// `security.token_secret`; RS256, ES256 and EdDSA with the keys of `security.jwks` (replaced when the
/// set is read again). Claims must have their registered types (RFC 7519 §4.1): `sub` a string, `exp`
/// and `nbf` numbers; `exp` is required unless `security.token_require_exp` is off.
public final class TokenVerifier: Sendable {
    /// How tokens are checked.
    public struct Configuration: Sendable {
        /// The HS256 secret (`security.token_secret`); empty = none.
        public var secret = ""
        /// Whether a token without `exp` is refused.
        public var requireExpiry = true

        public init(secret: String = "", requireExpiry: Bool = true) {
            self.secret = secret
            self.requireExpiry = requireExpiry
        }
    }

    private let secret: VerificationKey?
    private let requireExpiry: Bool
    private let keySet = Mutex(JSONWebKeySet())

    /// The most channel patterns a token may carry (they are matched on every command).
    static let maxChannels = 256

    public init(configuration: Configuration) {
        self.secret =
            configuration.secret.isEmpty ? nil : .hmacSHA256(SymmetricKey(data: Array(configuration.secret.utf8)))
        self.requireExpiry = configuration.requireExpiry
    }

    /// Uses `keys` from now on (a JWKS read again).
    public func replaceKeys(_ keys: JSONWebKeySet) {
        keySet.withLock { $0 = keys }
    }

    /// How many keys can check tokens now (the secret counts as one).
    public var keyCount: Int { keySet.withLock { $0.keys.count } + (secret == nil ? 0 : 1) }

    /// The identity `token` carries, checked at `now` (milliseconds since the Unix epoch), or why not.
    public func verify(_ token: String, now: Int64) -> Result<TokenIdentity, TokenError> {
        do {
            return .success(try verifyThrowing(token, now: now))
        } catch {
            return .failure(error)
        }
    }

    private func verifyThrowing(_ token: String, now: Int64) throws(TokenError) -> TokenIdentity {
        let jws = try JSONWebToken(parsing: token)
        guard VerificationKey.algorithms.contains(jws.algorithm) else {
            throw TokenError(
                "tokens signed with \(jws.algorithm.prefix(20)) are not accepted (HS256, RS256, ES256, EdDSA)"
            )
        }
        let candidates = self.candidates(for: jws)
        guard !candidates.isEmpty else {
            throw TokenError(
                jws.algorithm == "HS256"
                    ? "no HS256 key is configured (security.token_secret)"
                    : "no \(jws.algorithm) key\(jws.keyID.map { " with kid \($0.prefix(60))" } ?? "") is configured (security.jwks)"
            )
        }
        guard candidates.contains(where: { $0.verifies(jws.signature, of: jws.signingInput) }) else {
            throw .badSignature
        }
        return try identity(from: jws.claims, now: now)
    }

    /// The keys that may have signed `jws`: those of its algorithm, with its `kid` when it names one.
    private func candidates(for jws: JSONWebToken) -> [VerificationKey] {
        var keys = keySet.withLock { set in
            set.keys.filter { $0.key.algorithm == jws.algorithm && (jws.keyID == nil || $0.id == jws.keyID) }
                .map(\.key)
        }
        if let secret, jws.algorithm == "HS256" { keys.append(secret) }
        return keys
    }

    /// The registered claims, with their types checked (a decoder refuses `"exp": "tomorrow"`).
    private struct Claims: Decodable {
        var sub: String?
        var exp: Double?
        var nbf: Double?
        var channels: [String]?
    }

    private func identity(from json: Data, now: Int64) throws(TokenError) -> TokenIdentity {
        let claims: Claims
        do {
            claims = try JSONDecoder().decode(Claims.self, from: json)
        } catch DecodingError.typeMismatch(_, let context) {
            let name = context.codingPath.first?.stringValue ?? "a claim"
            throw TokenError("the token's \"\(name)\" claim has the wrong type")
        } catch {
            throw .malformed
        }
        let seconds = Double(now) / 1000
        if let expiry = claims.exp {
            guard expiry.isFinite, seconds < expiry else { throw .expired }
        } else if requireExpiry {
            throw .missingExpiry
        }
        if let notBefore = claims.nbf, seconds < notBefore { throw TokenError("the token is not valid yet") }
        guard let user = claims.sub, (1...255).contains(user.utf8.count) else {
            throw TokenError("the token has no \"sub\" claim (the user, 1 to 255 bytes)")
        }
        let channels = claims.channels ?? []
        guard channels.count <= Self.maxChannels, channels.allSatisfy({ !$0.isEmpty && $0.utf8.count <= 255 }) else {
            throw TokenError("the token's \"channels\" must be at most \(Self.maxChannels) patterns of 1 to 255 bytes")
        }
        var info: String?
        if let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any], let value = object["info"] {
            guard value is [String: Any] || value is [Any],
                let data = try? JSONSerialization.data(withJSONObject: value), data.count <= 4096
            else { throw TokenError("the token's \"info\" claim must be a JSON object or array of at most 4 KiB") }
            info = String(decoding: data, as: UTF8.self)
        }
        return TokenIdentity(
            user: user,
            info: info,
            grants: ChannelGrants(publish: channels, subscribe: channels),
            expiresAt: claims.exp.map { Int64(($0 * 1000).rounded(.down)) }
        )
    }
}
