import Crypto
public import Foundation
import _CryptoExtras

/// A JWK Set (RFC 7517 §5): the public keys tokens are checked with, from a file or an identity
/// provider's URL (`security.jwks`). Keys this server cannot use (other algorithms, encryption keys) are
/// left out and listed in ``skipped``.
public struct JSONWebKeySet: Sendable {
    /// One usable key and its id.
    public struct Key: Sendable {
        public var id: String?
        public var key: VerificationKey
    }

    public private(set) var keys: [Key] = []
    /// Why each left-out key was left out (for the log).
    public private(set) var skipped: [String] = []

    /// No keys.
    public init() {}

    /// Parses a JWK Set document; throws when it is not one or holds no usable key.
    public init(json: Data) throws(TokenError) {
        guard let document = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let entries = document["keys"] as? [Any]
        else { throw TokenError("a JWK Set is a JSON object with a \"keys\" array") }
        for (index, entry) in entries.enumerated() {
            guard let object = entry as? [String: Any] else {
                skipped.append("key \(index): not an object")
                continue
            }
            do {
                keys.append(Key(id: object["kid"] as? String, key: try Self.key(object)))
            } catch {
                skipped.append("key \(index) (\(object["kid"] as? String ?? "no kid")): \(error.reason)")
            }
        }
        guard !keys.isEmpty else {
            throw TokenError("the JWK Set has no usable key (\(skipped.joined(separator: "; ")))")
        }
    }

    /// The verification key of one JWK (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2).
    static func key(_ jwk: [String: Any]) throws(TokenError) -> VerificationKey {
        if let use = jwk["use"] as? String, use != "sig" { throw TokenError("\"use\" is \(use), not sig") }
        func bytes(_ name: String) throws(TokenError) -> [UInt8] {
            guard let text = jwk[name] as? String, let value = Base64URL.decode(text) else {
                throw TokenError("\"\(name)\" is missing or not base64url")
            }
            return value
        }
        let key: VerificationKey
        switch jwk["kty"] as? String {
        case "RSA":
            do {
                key = .rsaSHA256(try _RSA.Signing.PublicKey(n: try bytes("n"), e: try bytes("e")))
            } catch let error as TokenError {
                throw error
            } catch {
                throw TokenError("not an RSA key of 2048 bits or more")
            }
        case "EC":
            guard jwk["crv"] as? String == "P-256" else { throw TokenError("only the P-256 curve is supported") }
            let (x, y) = (try bytes("x"), try bytes("y"))
            guard x.count == 32, y.count == 32,
                let point = try? P256.Signing.PublicKey(x963Representation: [0x04] + x + y)
            else { throw TokenError("not a P-256 point") }
            key = .ecdsaP256(point)
        case "OKP":
            guard jwk["crv"] as? String == "Ed25519" else { throw TokenError("only the Ed25519 curve is supported") }
            guard let point = try? Curve25519.Signing.PublicKey(rawRepresentation: try bytes("x")) else {
                throw TokenError("not an Ed25519 key")
            }
            key = .ed25519(point)
        case "oct":
            let secret = try bytes("k")
            guard secret.count >= 32 else { throw TokenError("an HMAC key shorter than 32 bytes") }
            key = .hmacSHA256(SymmetricKey(data: secret))
        case let other:
            throw TokenError("key type \(other ?? "(none)") is not supported")
        }
        if let algorithm = jwk["alg"] as? String, algorithm != key.algorithm {
            throw TokenError("\"alg\" \(algorithm) is not supported for this key (only \(key.algorithm))")
        }
        return key
    }
}
