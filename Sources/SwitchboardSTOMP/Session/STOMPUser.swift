import Crypto
public import SwitchboardCore

/// A STOMP login (`[[stomp.user]]`): what `CONNECT` must carry, and the destinations the connection may
/// then send to (`write`) and subscribe to (`read`), beyond what every client may (``ChannelPolicy``).
public struct STOMPUser: Sendable, Equatable {
    /// The `login` header.
    public var login: String
    /// SHA-256 of the passcode: only the digest is kept, so a configured `passcode_sha256` never needs
    /// the passcode itself.
    public var passcodeSHA256: [UInt8]
    /// What the login may do: `write` patterns as ``ChannelGrants/publish``, `read` as `subscribe`.
    public var grants: ChannelGrants

    /// A user with a passcode given in the clear.
    public init(login: String, passcode: String, grants: ChannelGrants) {
        self.init(login: login, passcodeSHA256: Array(SHA256.hash(data: Array(passcode.utf8))), grants: grants)
    }

    /// A user whose passcode is known only by its SHA-256 digest (32 bytes).
    public init(login: String, passcodeSHA256: [UInt8], grants: ChannelGrants) {
        self.login = login
        self.passcodeSHA256 = passcodeSHA256
        self.grants = grants
    }

    /// The deprecated `stomp.users = ["login:passcode"]` form, which allows everything; nil when the text
    /// has no colon or an empty login.
    public init?(legacy text: String) {
        guard let colon = text.firstIndex(of: ":"), colon != text.startIndex else { return nil }
        self.init(
            login: String(text[..<colon]),
            passcode: String(text[text.index(after: colon)...]),
            grants: .everything
        )
    }

    /// Whether `passcode` is this user's, comparing digests in constant time.
    public func accepts(passcode: String) -> Bool {
        ConstantTime.equals(Array(SHA256.hash(data: Array(passcode.utf8))), passcodeSHA256)
    }

    /// What an unknown login is checked against, so that it costs the same hashing as a wrong passcode:
    /// the time of a refusal does not tell which logins exist.
    public static let nobody = STOMPUser(login: "", passcodeSHA256: [UInt8](repeating: 0, count: 32), grants: .none)
}
