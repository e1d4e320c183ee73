import Testing

@testable import SwitchboardHTTP

@Suite("SHA-256, HMAC and connect tokens")
struct TokenTests {
    func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    @Test("SHA-256 and HMAC-SHA-256 test vectors (FIPS 180-4, RFC 4231)")
    func vectors() {
        #expect(
            hex(SHA256.hash(Array("abc".utf8))) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        #expect(hex(SHA256.hash([])) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        let long = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(hex(SHA256.hash(long)) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        #expect(
            hex(SHA256.hmac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8)))
                == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        )
        let key = [UInt8](repeating: 0xaa, count: 131)  // longer than a block: hashed first
        let message = Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8)
        #expect(
            hex(SHA256.hmac(key: key, message: message))
                == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        )
    }

    /// A token made the way any JWT library makes it.
    func token(_ claims: String, secret: String = "s3cret", header: String = #"{"alg":"HS256","typ":"JWT"}"#) -> String
    {
        func b64url(_ bytes: [UInt8]) -> String {
            Base64.encode(bytes).replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
        }
        let signingInput = b64url(Array(header.utf8)) + "." + b64url(Array(claims.utf8))
        return signingInput + "." + b64url(SHA256.hmac(key: Array(secret.utf8), message: Array(signingInput.utf8)))
    }

    @Test("tokens: the user from sub, info, expiry, not-before, signature, algorithm")
    func verifier() {
        let verifier = TokenVerifier(secret: "s3cret")
        let now: Int64 = 1_800_000_000_000
        let good = verifier.verify(token(#"{"sub":"ann","exp":1900000000,"info":{"nick":"Ann"}}"#), now: now)
        #expect((try? good.get()) == TokenVerifier.Identity(user: "ann", info: #"{"nick":"Ann"}"#))
        func refusal(_ token: String) -> String? {
            if case .failure(let error) = verifier.verify(token, now: now) { return error.message }
            return nil
        }
        #expect(refusal(token(#"{"sub":"ann","exp":1700000000}"#))?.contains("expired") == true)
        #expect(refusal(token(#"{"sub":"ann","nbf":1900000000}"#))?.contains("not valid yet") == true)
        #expect(refusal(token(#"{"sub":"ann"}"#, secret: "other"))?.contains("signature") == true)
        #expect(refusal(token(#"{"exp":1900000000}"#))?.contains("sub") == true)
        #expect(refusal(token(#"{"sub":"ann"}"#, header: #"{"alg":"none"}"#))?.contains("HS256") == true)
        #expect(refusal("not.a.token")?.contains("JWT") == true)
    }
}
