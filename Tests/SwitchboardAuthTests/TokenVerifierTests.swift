import Crypto
import Foundation
import SwitchboardCore
import Testing

@testable import SwitchboardAuth

/// The RFCs' own examples, and tokens signed here with swift-crypto's private keys.
@Suite("Tokens: JWS (RFC 7515), JWK Sets (RFC 7517), HS256 / RS256 / ES256 / EdDSA")
struct TokenVerifierTests {
    /// RFC 7515's example claims: {"iss":"joe", "exp":1300819380, "http://example.com/is_root":true}.
    static let rfcClaims =
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
    /// A moment before the examples' `exp`, so the signature decides.
    static let rfcNow: Int64 = 1_300_819_000_000

    func keySet(_ jwks: String) throws -> JSONWebKeySet {
        try JSONWebKeySet(json: Data(jwks.utf8))
    }

    func verifier(secret: String = "", keys: JSONWebKeySet? = nil, requireExpiry: Bool = true) -> TokenVerifier {
        let verifier = TokenVerifier(configuration: .init(secret: secret, requireExpiry: requireExpiry))
        if let keys { verifier.replaceKeys(keys) }
        return verifier
    }

    func failure(_ result: Result<TokenIdentity, TokenError>) -> String {
        if case .failure(let error) = result { return error.reason }
        return "accepted"
    }

    @Test("RFC 7515 A.1: HS256 with the example's key (the signature holds; the claims have no sub)")
    func rfcHS256() throws {
        let keys = try keySet(
            #"{"keys":[{"kty":"oct","k":"AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow"}]}"#
        )
        let token =
            "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9.\(Self.rfcClaims).dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
        #expect(failure(verifier(keys: keys).verify(token, now: Self.rfcNow)).contains("\"sub\""))
        #expect(failure(verifier(keys: keys).verify(token, now: 1_300_819_380_000)) == TokenError.expired.reason)
        let tampered = token.dropLast() + "j"
        #expect(failure(verifier(keys: keys).verify(String(tampered), now: Self.rfcNow)) != "accepted")
    }

    @Test("RFC 7515 A.2: RS256 with the example's public key")
    func rfcRS256() throws {
        let n =
            "ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ"
        let keys = try keySet(#"{"keys":[{"kty":"RSA","alg":"RS256","n":"\#(n)","e":"AQAB"}]}"#)
        let signature =
            "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
        let token = "eyJhbGciOiJSUzI1NiJ9.\(Self.rfcClaims).\(signature)"
        #expect(failure(verifier(keys: keys).verify(token, now: Self.rfcNow)).contains("\"sub\""))
        // The same signature over other claims does not hold.
        let other = "eyJhbGciOiJSUzI1NiJ9.\(Base64URL.encode(Array(#"{"sub":"x"}"#.utf8))).\(signature)"
        #expect(failure(verifier(keys: keys).verify(other, now: Self.rfcNow)) == TokenError.badSignature.reason)
    }

    @Test("RFC 7515 A.3: ES256 with the example's public key")
    func rfcES256() throws {
        let keys = try keySet(
            #"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#
        )
        let token =
            "eyJhbGciOiJFUzI1NiJ9.\(Self.rfcClaims).DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
        #expect(failure(verifier(keys: keys).verify(token, now: Self.rfcNow)).contains("\"sub\""))
    }

    @Test("RFC 8037 A.4: the Ed25519 example signature")
    func rfcEdDSA() throws {
        let keys = try keySet(
            #"{"keys":[{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#
        )
        let input = Array("eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc".utf8)
        let signature = try #require(
            Base64URL.decode("hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg")
        )
        #expect(keys.keys[0].key.verifies(signature, of: input))
        #expect(!keys.keys[0].key.verifies(signature, of: input + [0x20]))
    }

    // MARK: Tokens signed here

    func sign(_ claims: String, header: String = #"{"alg":"HS256","typ":"JWT"}"#, secret: String = "s3cret") -> String {
        let input = Base64URL.encode(Array(header.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + Base64URL.encode(Array(mac))
    }

    let now: Int64 = 1_800_000_000_000
    var later: Int { 1_800_000_600 }

    @Test("a good token: user, info, channels, expiry")
    func identity() throws {
        let token = sign(#"{"sub":"ann","exp":\#(later),"info":{"nick":"Ann"},"channels":["room.*"]}"#)
        let identity = try verifier(secret: "s3cret").verify(token, now: now).get()
        #expect(identity.user == "ann")
        #expect(identity.info == #"{"nick":"Ann"}"#)
        #expect(identity.grants == ChannelGrants(publish: ["room.*"], subscribe: ["room.*"]))
        #expect(identity.expiresAt == Int64(later) * 1000)
    }

    @Test("exp is required unless configured otherwise; expired and not-yet-valid tokens are refused")
    func expiry() {
        let noExp = sign(#"{"sub":"ann"}"#)
        #expect(failure(verifier(secret: "s3cret").verify(noExp, now: now)) == TokenError.missingExpiry.reason)
        #expect(failure(verifier(secret: "s3cret", requireExpiry: false).verify(noExp, now: now)) == "accepted")
        let expired = sign(#"{"sub":"ann","exp":1799999999}"#)
        #expect(failure(verifier(secret: "s3cret").verify(expired, now: now)) == TokenError.expired.reason)
        let early = sign(#"{"sub":"ann","exp":\#(later),"nbf":\#(later - 1)}"#)
        #expect(failure(verifier(secret: "s3cret").verify(early, now: now)).contains("not valid yet"))
    }

    @Test("times beyond the year 9999 (or before 1970) are refused, not trapped on")
    func absurdTimes() {
        let v = verifier(secret: "s3cret")
        for claims in [
            #"{"sub":"ann","exp":1e16}"#, #"{"sub":"ann","exp":1e308}"#, #"{"sub":"ann","exp":-5}"#,
            #"{"sub":"ann","exp":\#(later),"nbf":1e19}"#,
        ] {
            #expect(failure(v.verify(sign(claims), now: now)).contains("not a time between 1970 and 9999"), "\(claims)")
        }
        #expect(failure(v.verify(sign(#"{"sub":"ann","exp":253402300799}"#), now: now)) == "accepted")
    }

    @Test("iss and aud, when configured: a string audience or a list containing it")
    func issuerAndAudience() {
        let v = TokenVerifier(configuration: .init(secret: "s3cret", issuer: "https://id.example", audience: "push"))
        let good = sign(#"{"sub":"ann","exp":\#(later),"iss":"https://id.example","aud":"push"}"#)
        #expect(failure(v.verify(good, now: now)) == "accepted")
        let list = sign(#"{"sub":"ann","exp":\#(later),"iss":"https://id.example","aud":["mail","push"]}"#)
        #expect(failure(v.verify(list, now: now)) == "accepted")
        let otherApp = sign(#"{"sub":"ann","exp":\#(later),"iss":"https://id.example","aud":"mail"}"#)
        #expect(failure(v.verify(otherApp, now: now)).contains("security.token_audience"))
        let noAudience = sign(#"{"sub":"ann","exp":\#(later),"iss":"https://id.example"}"#)
        #expect(failure(v.verify(noAudience, now: now)).contains("security.token_audience"))
        let otherIssuer = sign(#"{"sub":"ann","exp":\#(later),"iss":"https://evil.example","aud":"push"}"#)
        #expect(failure(v.verify(otherIssuer, now: now)).contains("security.token_issuer"))
        let wrongType = sign(#"{"sub":"ann","exp":\#(later),"iss":"https://id.example","aud":7}"#)
        #expect(failure(v.verify(wrongType, now: now)) != "accepted")
    }

    @Test("claims of the wrong type are refused")
    func claimTypes() {
        let v = verifier(secret: "s3cret")
        for (claims, name) in [
            (#"{"sub":"ann","exp":"\#(later)"}"#, "exp"),
            (#"{"sub":"ann","exp":true}"#, "exp"),
            (#"{"sub":7,"exp":\#(later)}"#, "sub"),
            (#"{"sub":"ann","exp":\#(later),"nbf":"soon"}"#, "nbf"),
            (#"{"sub":"ann","exp":\#(later),"channels":"room.*"}"#, "channels"),
            (#"{"sub":"ann","exp":\#(later),"channels":[1]}"#, "channels"),
        ] {
            #expect(
                failure(v.verify(sign(claims), now: now)).contains("\"\(name)\" claim has the wrong type"),
                "\(claims)"
            )
        }
        #expect(failure(v.verify(sign(#"{"sub":"ann","exp":\#(later),"info":"text"}"#), now: now)).contains("info"))
        #expect(failure(v.verify(sign(#"{"sub":"","exp":\#(later)}"#), now: now)).contains("sub"))
    }

    @Test("signatures must be canonical base64url: padding, other alphabets and stray bits are refused")
    func canonicalEncoding() {
        let token = sign(#"{"sub":"ann","exp":\#(later)}"#)
        #expect(failure(verifier(secret: "s3cret").verify(token, now: now)) == "accepted")
        let parts = token.split(separator: ".").map(String.init)
        // 32 bytes: 43 characters, the last carrying 2 unused bits.
        let last = parts[2].last!
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        let index = alphabet.firstIndex(of: last)!
        let sibling = alphabet[(index & ~3) | ((index & 3) == 0 ? 1 : 0)]  // same decoded bytes, other pad bits
        for bad in [
            parts[2] + "=",
            parts[2].replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
                + (parts[2].contains("-") || parts[2].contains("_") ? "" : "+"),
            String(parts[2].dropLast()) + String(sibling), " " + parts[2],
        ] {
            let forged = parts[0] + "." + parts[1] + "." + bad
            #expect(
                failure(verifier(secret: "s3cret").verify(forged, now: now)) == TokenError.malformed.reason,
                "\(bad)"
            )
        }
        #expect(Base64URL.decode("QUI") == [0x41, 0x42])
        #expect(Base64URL.decode("QUJ") == nil)  // stray bits
        #expect(Base64URL.decode("Q") == nil)
        #expect(Base64URL.encode([0xFB, 0xFF]) == "-_8")
    }

    @Test("the algorithm is the key's: none, unknown algorithms and key confusion are refused")
    func algorithms() throws {
        let claims = #"{"sub":"ann","exp":\#(later)}"#
        let none = Base64URL.encode(Array(#"{"alg":"none"}"#.utf8)) + "." + Base64URL.encode(Array(claims.utf8)) + "."
        #expect(failure(verifier(secret: "s3cret").verify(none, now: now)).contains("none"))
        let hs512 = sign(claims, header: #"{"alg":"HS512"}"#)
        #expect(failure(verifier(secret: "s3cret").verify(hs512, now: now)).contains("HS512"))
        // An HS256 token "signed" with the ES256 key's public bytes as the secret: no HS256 key exists.
        let ecKey = P256.Signing.PrivateKey()
        let jwk = Self.jwk(ecKey.publicKey)
        let keys = try keySet(#"{"keys":[\#(jwk)]}"#)
        let confused = sign(claims, secret: String(decoding: ecKey.publicKey.x963Representation, as: UTF8.self))
        #expect(failure(verifier(keys: keys).verify(confused, now: now)).contains("no HS256 key"))
        let critical = sign(claims, header: #"{"alg":"HS256","crit":["exp"]}"#)
        #expect(failure(verifier(secret: "s3cret").verify(critical, now: now)).contains("critical"))
    }

    static func jwk(_ key: P256.Signing.PublicKey, kid: String = "ec-1") -> String {
        let point = Array(key.x963Representation)
        return
            #"{"kty":"EC","crv":"P-256","kid":"\#(kid)","x":"\#(Base64URL.encode(point[1...32]))","y":"\#(Base64URL.encode(point[33...64]))"}"#
    }

    @Test("ES256 and EdDSA tokens, keys picked by kid, key sets replaced at run time")
    func asymmetric() throws {
        let ec = P256.Signing.PrivateKey()
        let ed = Curve25519.Signing.PrivateKey()
        let edJWK =
            #"{"kty":"OKP","crv":"Ed25519","kid":"ed-1","x":"\#(Base64URL.encode(Array(ed.publicKey.rawRepresentation)))"}"#
        let v = verifier(keys: try keySet(#"{"keys":[\#(Self.jwk(ec.publicKey)),\#(edJWK)]}"#))
        #expect(v.keyCount == 2)
        let claims = Base64URL.encode(Array(#"{"sub":"ann","exp":\#(later)}"#.utf8))
        func signed(_ header: String, _ sign: ([UInt8]) throws -> [UInt8]) throws -> String {
            let input = Base64URL.encode(Array(header.utf8)) + "." + claims
            return input + "." + Base64URL.encode(try sign(Array(input.utf8)))
        }
        let es = try signed(#"{"alg":"ES256","kid":"ec-1"}"#) { Array(try ec.signature(for: $0).rawRepresentation) }
        #expect(try v.verify(es, now: now).get().user == "ann")
        let eddsa = try signed(#"{"alg":"EdDSA"}"#) { Array(try ed.signature(for: $0)) }
        #expect(try v.verify(eddsa, now: now).get().user == "ann")
        let wrongKid = try signed(#"{"alg":"ES256","kid":"other"}"#) {
            Array(try ec.signature(for: $0).rawRepresentation)
        }
        #expect(failure(v.verify(wrongKid, now: now)).contains("kid other"))
        // A DER-encoded ECDSA signature is not the JWS form (r || s, 64 bytes).
        let der = try signed(#"{"alg":"ES256"}"#) { Array(try ec.signature(for: $0).derRepresentation) }
        #expect(failure(v.verify(der, now: now)) == TokenError.badSignature.reason)
        // Rotation: once the set is replaced, the old key no longer verifies.
        v.replaceKeys(try keySet(#"{"keys":[\#(edJWK)]}"#))
        #expect(failure(v.verify(es, now: now)) != "accepted")
    }

    @Test("JWK Sets: unusable keys are skipped with a reason; none usable is an error")
    func keySets() throws {
        let set = try keySet(
            #"{"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"},{"kty":"RSA","n":"AQAB","e":"AQAB"},{"kty":"oct","k":"c2hvcnQ"},{"kty":"OKP","crv":"Ed25519","use":"enc","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},{"kty":"OKP","crv":"Ed25519","alg":"EdDSA","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}"#
        )
        #expect(set.keys.count == 1)
        #expect(set.skipped.count == 4)
        #expect(set.skipped[1].contains("2048"))
        #expect(throws: TokenError.self) { try keySet(#"{"keys":[]}"#) }
        #expect(throws: TokenError.self) { try keySet(#"[1]"#) }
    }
}
