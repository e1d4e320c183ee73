import Crypto
import Foundation
import SwitchboardCore
import Synchronization

/// Checks signed tokens (JWS, RFC 7515) wherever a client shows one: the native protocol's `connect` and
/// `refresh`, Socket.IO's `auth`, `?access_token=` on subscriptions and bridged paths. HS256 with
/// `security.token_secret`; RS256, ES256 and EdDSA with the keys of `security.jwks` (replaced when the
/// set is read again). The claims read must have their registered types (RFC 7519 §4.1): `sub`, `iss`
/// strings, `aud` a string or list of strings, `exp` and `nbf` numbers (in the years 1970 to 9999); `exp`
/// is required unless `security.token_require_exp` is off; `iss` and `aud` must match
/// `security.token_issuer` / `security.token_audience` when those are set.
public final class TokenVerifier: Sendable {
    /// How tokens are checked.
    public struct Configuration: Sendable {
        /// The HS256 secret (`security.token_secret`); empty = none.
        public var secret = ""
        /// Whether a token without `exp` is refused.
        public var requireExpiry = true
        /// The `iss` a token must carry (`security.token_issuer`); empty = any.
        public var issuer = ""
        /// A value the token's `aud` must contain (`security.token_audience`); empty = any.
        public var audience = ""

        public init(secret: String = "", requireExpiry: Bool = true, issuer: String = "", audience: String = "") {
            self.secret = secret
            self.requireExpiry = requireExpiry
            self.issuer = issuer
            self.audience = audience
        }
    }

    private let secret: VerificationKey?
    private let requireExpiry: Bool
    private let issuer: String
    private let audience: String
    private let keySet = Mutex(JSONWebKeySet())

    /// The most channel patterns a token may carry (they are matched on every command).
    static let maxChannels = 256

    public init(configuration: Configuration) {
        self.secret =
            configuration.secret.isEmpty ? nil : .hmacSHA256(SymmetricKey(data: Array(configuration.secret.utf8)))
        self.requireExpiry = configuration.requireExpiry
        self.issuer = configuration.issuer
        self.audience = configuration.audience
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
        var iss: String?
        var aud: Audience?
        var exp: Double?
        var nbf: Double?
        var channels: [String]?
    }

    /// `aud`: one string or a list of them (RFC 7519 §4.1.3).
    private struct Audience: Decodable {
        var values: [String]

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if let one = try? container.decode(String.self) {
                values = [one]
            } else {
                values = try container.decode([String].self)
            }
        }
    }

    /// The latest time a token may name: the end of the year 9999, in seconds (RFC 7519's NumericDate
    /// has no bound; milliseconds of larger values do not fit in 64 bits).
    static let latestTime = 253_402_300_799.0

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
        for (name, value) in [("exp", claims.exp), ("nbf", claims.nbf)] {
            if let value, !(0...Self.latestTime).contains(value) {
                throw TokenError("the token's \"\(name)\" claim is not a time between 1970 and 9999")
            }
        }
        let seconds = Double(now) / 1000
        if let expiry = claims.exp {
            guard seconds < expiry else { throw .expired }
        } else if requireExpiry {
            throw .missingExpiry
        }
        if let notBefore = claims.nbf, seconds < notBefore { throw TokenError("the token is not valid yet") }
        if !issuer.isEmpty, claims.iss != issuer {
            throw TokenError("the token's issuer (\"iss\") is not \(issuer.prefix(100)) (security.token_issuer)")
        }
        if !audience.isEmpty, !(claims.aud?.values.contains(audience) ?? false) {
            throw TokenError("the token is not for \(audience.prefix(100)) (\"aud\", security.token_audience)")
        }
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
