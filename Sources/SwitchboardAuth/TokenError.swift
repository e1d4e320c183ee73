/// Why a token is refused: said to the client (the native protocol's `invalid_token`, a bridge's `401`).
public struct TokenError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong, in a sentence.
    public let reason: String

    public init(_ reason: String) {
        self.reason = reason
    }

    public var description: String { reason }

    static let malformed = TokenError("the token is not a JWT (three base64url parts, JSON header and claims)")
    static let badSignature = TokenError("the token's signature does not match a configured key")
    static let expired = TokenError("the token has expired")
    static let missingExpiry = TokenError(
        "the token has no \"exp\" claim (security.token_require_exp): a token must expire"
    )
}
