public import Crypto
import Foundation
public import _CryptoExtras

/// A key that checks the signatures of one JWS algorithm (RFC 7518 §3): HS256 (HMAC with SHA-256),
/// RS256 (RSA PKCS #1 v1.5 with SHA-256, 2048 bits or more), ES256 (ECDSA on P-256, the signature as
/// `r || s`) or EdDSA (Ed25519, RFC 8037). A key is tried only for its own algorithm: a token cannot make
/// an RSA public key serve as an HMAC secret.
public enum VerificationKey: Sendable {
    case hmacSHA256(SymmetricKey)
    case rsaSHA256(_RSA.Signing.PublicKey)
    case ecdsaP256(P256.Signing.PublicKey)
    case ed25519(Curve25519.Signing.PublicKey)

    /// The `alg` it verifies.
    public var algorithm: String {
        switch self {
        case .hmacSHA256: "HS256"
        case .rsaSHA256: "RS256"
        case .ecdsaP256: "ES256"
        case .ed25519: "EdDSA"
        }
    }

    /// The algorithms a token may name.
    static let algorithms: Set<String> = ["HS256", "RS256", "ES256", "EdDSA"]

    /// Whether `signature` is this key's over `input`.
    func verifies(_ signature: [UInt8], of input: [UInt8]) -> Bool {
        switch self {
        case .hmacSHA256(let key):
            return HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: input, using: key)
        case .rsaSHA256(let key):
            return key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature),
                for: input,
                padding: .insecurePKCS1v1_5
            )
        case .ecdsaP256(let key):
            // RFC 7518 §3.4: the JWS signature is R and S, 32 bytes each.
            guard signature.count == 64,
                let ecdsa = try? P256.Signing.ECDSASignature(rawRepresentation: signature)
            else { return false }
            return key.isValidSignature(ecdsa, for: input)
        case .ed25519(let key):
            return key.isValidSignature(signature, for: input)
        }
    }
}
