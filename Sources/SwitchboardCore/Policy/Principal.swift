/// Who asks the ``ChannelPolicy``: the application's back end, a client with what its credential
/// grants, or a configured account.
public enum Principal: Sendable, Equatable {
    /// The application's back end: an HTTP request with an API key, or from a trusted loopback client
    /// with no sign of a browser. May publish and subscribe everywhere.
    case backend
    /// A client connection (a page, a STOMP client, a Socket.IO socket): what every client may do, plus
    /// what its credential (a signed token) grants.
    case client(ChannelGrants)
    /// An account the operator configured (a STOMP login): exactly what its lists grant, nothing that
    /// every client may do besides — `read = ["prices"]` means only `prices`.
    case account(ChannelGrants)

    /// A client without a credential.
    public static let anonymous = Principal.client(.none)
}
