import Foundation
import SwitchboardAuth
import SwitchboardCore
import SwitchboardHTTP

/// One native-protocol connection's state, as a value: commands in, actions out. It checks every command
/// and its parameters, keeps the set of subscribed channels, and decides the errors; the handler runs the
/// actions against the hub and writes the replies. Transport-agnostic, so the fallback transports
/// (SSE/stream + POST, long-poll) can drive the same session.
struct NativeSession {
    struct Configuration: Sendable {
        var maxSubscriptions = 64
        var maxChannelNameLength = ChannelName.defaultMaxLength
        var maxMessageSize = 1 << 20
        var maxHistoryLimit = 1000
        /// Who may publish and subscribe where.
        var policy = ChannelPolicy()
        /// Whether presence is tracked on a channel (`channels.presence`).
        var tracksPresence: @Sendable (ChannelName) -> Bool = { _ in true }
        /// Whether `connect` may name its user (`security.anonymous_users`).
        var anonymousUsers = false
        /// Checks `connect` and `refresh` tokens; nil when no key is configured (tokens are refused).
        var tokens: TokenVerifier?
    }

    enum State { case awaitingConnect, connected }

    enum Action {
        /// Connected as `user` (nil: anonymous), until `expiresAt` (milliseconds) when its token expires.
        case connected(id: Int?, user: String?, info: String?, expiresAt: Int64?)
        /// A new token took the place of the connection's: it now expires at `expiresAt`, and the
        /// subscriptions it no longer grants (`revoked`) end.
        case refreshed(id: Int?, expiresAt: Int64?, revoked: [ChannelName])
        case presence(id: Int?, channel: ChannelName)
        case subscribe(id: Int?, channel: ChannelName, since: StreamPosition?)
        case unsubscribe(id: Int?, channel: ChannelName)
        case publish(id: Int?, channel: ChannelName, request: PublishRequest)
        case history(id: Int?, channel: ChannelName, since: StreamPosition?, limit: Int)
        case pong(id: Int?)
        case answer(id: Int?, call: UInt64, CallRegistry.Answer)
        case rpc(id: Int?, method: String, data: String)
        case error(NativeError)
    }

    let configuration: Configuration
    private(set) var state: State = .awaitingConnect
    private(set) var channels: Set<ChannelName> = []
    /// Who the connection is for the policy: anonymous until a token grants more.
    private(set) var principal = Principal.anonymous
    /// When the connection's token expires (milliseconds since the Unix epoch): a `refresh` must come
    /// before, or the connection ends (close code 4005).
    private(set) var expiresAt: Int64?
    /// The user the connection's token named (a `refresh` must name the same).
    private var tokenUser: String?
    private var now: Int64 = 0

    init(configuration: Configuration) {
        self.configuration = configuration
    }

    /// Handles one command; `now` (milliseconds since the Unix epoch) is when it arrived (token expiry).
    mutating func receive(_ command: NativeCommand, now: Int64 = WallClock.milliseconds()) -> Action {
        self.now = now
        switch receiveChecked(command) {
        case .success(let action): return action
        case .failure(var error):
            error.id = command.id
            return .error(error)
        }
    }

    private mutating func receiveChecked(_ command: NativeCommand) -> Result<Action, NativeError> {
        if state == .awaitingConnect && command.method != "connect" && command.method != "ping" {
            return .failure(NativeError(.notConnected, "send {\"method\":\"connect\"} first"))
        }
        let id = command.id
        switch command.method {
        case "connect":
            guard state == .awaitingConnect else {
                return .failure(NativeError(.alreadyConnected, "already connected"))
            }
            return identity(in: command).map { user, info in
                state = .connected
                return .connected(id: id, user: user, info: info, expiresAt: expiresAt)
            }
        case "refresh":
            return refresh(command)
        case "presence":
            return channel(in: command, for: .subscribe).flatMap { channel in
                guard configuration.tracksPresence(channel) else {
                    return .failure(
                        NativeError(
                            .presenceDisabled,
                            "presence is not tracked on \(channel.rawValue) (channels.presence)"
                        )
                    )
                }
                return .success(.presence(id: id, channel: channel))
            }
        case "ping":
            return .success(.pong(id: id))
        case "subscribe":
            return channel(in: command, for: .subscribe).flatMap { channel in
                position(in: command).flatMap { since in
                    guard !channels.contains(channel) else {
                        return .failure(NativeError(.alreadySubscribed, "already subscribed to \(channel.rawValue)"))
                    }
                    guard channels.count < configuration.maxSubscriptions else {
                        return .failure(
                            NativeError(
                                .tooManySubscriptions,
                                "at most \(configuration.maxSubscriptions) subscriptions per connection "
                                    + "(limits.max_channels_per_subscription)"
                            )
                        )
                    }
                    channels.insert(channel)
                    return .success(.subscribe(id: id, channel: channel, since: since))
                }
            }
        case "unsubscribe":
            return channel(in: command).flatMap { channel in
                guard channels.remove(channel) != nil else {
                    return .failure(NativeError(.notSubscribed, "not subscribed to \(channel.rawValue)"))
                }
                return .success(.unsubscribe(id: id, channel: channel))
            }
        case "publish":
            return channel(in: command, for: .publish).flatMap { channel in
                publishRequest(command.params).map { .publish(id: id, channel: channel, request: $0) }
            }
        case "rpc":
            guard let method = command.params["method"] as? String, (1...255).contains(method.utf8.count) else {
                return .failure(NativeError(.badRequest, "\"method\" (a string of 1 to 255 bytes) is missing"))
            }
            guard let data = JSONText.encode(command.params["data"] ?? NSNull()) else {
                return .failure(NativeError(.badRequest, "\"data\" must be JSON"))
            }
            return .success(.rpc(id: id, method: method, data: String(decoding: data, as: UTF8.self)))
        case "answer":
            guard let call = command.params["call"] as? Int, call > 0 else {
                return .failure(NativeError(.badRequest, "\"call\" (the number of the call push) is missing"))
            }
            if let message = command.params["error"] as? String {
                return .success(.answer(id: id, call: UInt64(call), .error(message)))
            }
            guard let data = JSONText.encode(command.params["result"] ?? NSNull()) else {
                return .failure(NativeError(.badRequest, "\"result\" must be JSON"))
            }
            return .success(.answer(id: id, call: UInt64(call), .result(String(decoding: data, as: UTF8.self))))
        case "history":
            return channel(in: command, for: .subscribe).flatMap { channel in
                position(in: command).flatMap { since in
                    let limit = command.params["limit"] as? Int ?? 100
                    guard (1...configuration.maxHistoryLimit).contains(limit) else {
                        return .failure(
                            NativeError(.badRequest, "\"limit\" is from 1 to \(configuration.maxHistoryLimit)")
                        )
                    }
                    return .success(.history(id: id, channel: channel, since: since, limit: limit))
                }
            }
        default:
            return .failure(
                NativeError(
                    .unknownMethod,
                    "unknown method \"\(command.method.prefix(40))\"; the methods are connect, refresh, subscribe, "
                        + "unsubscribe, publish, presence, history, rpc, answer, ping"
                )
            )
        }
    }

    /// The user and client info of `connect`. The user comes from a token, or — only where anonymous
    /// users are allowed — from `user`; `info`, any JSON object or array (a nickname, say), kept as its
    /// JSON text; a token's own `info` claim wins over it.
    private mutating func identity(in command: NativeCommand) -> Result<(String?, String?), NativeError> {
        var info: String?
        if let value = command.params["info"], !(value is NSNull) {
            guard let data = JSONText.encodeContainer(value), data.count <= 4096 else {
                return .failure(
                    NativeError(.badRequest, "\"info\" must be a JSON object or array of at most 4,096 bytes")
                )
            }
            info = String(decoding: data, as: UTF8.self)
        }
        if let value = command.params["token"], !(value is NSNull) {
            guard let token = value as? String else {
                return .failure(NativeError(.badRequest, "\"token\" must be a string"))
            }
            return verify(token).map { identity in
                principal = .client(identity.grants)
                expiresAt = identity.expiresAt
                tokenUser = identity.user
                return (identity.user, identity.info ?? info)
            }
        }
        var user: String?
        if let value = command.params["user"], !(value is NSNull) {
            guard let name = value as? String, (1...255).contains(name.utf8.count) else {
                return .failure(NativeError(.badRequest, "\"user\" must be a string of 1 to 255 bytes"))
            }
            guard configuration.anonymousUsers else {
                return .failure(
                    NativeError(
                        .permissionDenied,
                        "the user comes from a token or the connect hook (security.anonymous_users is off); "
                            + "a nickname goes in info"
                    )
                )
            }
            user = name
        }
        return .success((user, info))
    }

    /// `refresh {"token"}`: a new token for the same user before the old one expires; its expiry and
    /// channels replace the old one's, so a subscription the new token does not grant ends with it.
    private mutating func refresh(_ command: NativeCommand) -> Result<Action, NativeError> {
        guard let token = command.params["token"] as? String else {
            return .failure(NativeError(.badRequest, "\"token\" (a string) is required"))
        }
        guard let tokenUser else {
            return .failure(NativeError(.badRequest, "only a connection made with a token can refresh it"))
        }
        return verify(token).flatMap { identity in
            guard identity.user == tokenUser else {
                return .failure(NativeError(.invalidToken, "the new token is for another user"))
            }
            principal = .client(identity.grants)
            expiresAt = identity.expiresAt
            let revoked = channels.filter { !configuration.policy.allows(.subscribe, $0.rawValue, by: principal) }
            channels.subtract(revoked)
            return .success(
                .refreshed(id: command.id, expiresAt: identity.expiresAt, revoked: revoked.sorted())
            )
        }
    }

    private func verify(_ token: String) -> Result<TokenIdentity, NativeError> {
        guard let tokens = configuration.tokens else {
            return .failure(
                NativeError(.invalidToken, "this server accepts no tokens (security.token_secret, security.jwks)")
            )
        }
        return tokens.verify(token, now: now).mapError { NativeError(.invalidToken, $0.reason) }
    }

    private func publishRequest(_ params: [String: Any]) -> Result<PublishRequest, NativeError> {
        do {
            return .success(try JSONPublishFields.request(from: params, maxMessageSize: configuration.maxMessageSize))
        } catch .tooLarge(let limit) {
            return .failure(NativeError(.messageTooLarge, JSONPublishFields.Problem.tooLarge(limit: limit).message))
        } catch {
            return .failure(NativeError(.badRequest, error.message))
        }
    }

    /// The back end refused the `connect` it was asked about: the session waits for another.
    mutating func connectRefused() {
        state = .awaitingConnect
        principal = .anonymous
        expiresAt = nil
        tokenUser = nil
    }

    /// The channel a subscription ended by itself (the channel was deleted).
    mutating func channelEnded(_ channel: ChannelName) {
        channels.remove(channel)
    }

    /// The command's channel; with `operation`, only when the policy lets this connection do that there.
    private func channel(
        in command: NativeCommand,
        for operation: ChannelPolicy.Operation? = nil
    ) -> Result<ChannelName, NativeError> {
        guard let name = command.params["channel"] as? String else {
            return .failure(NativeError(.badRequest, "\"params.channel\" (a string) is missing"))
        }
        let channel: ChannelName
        do {
            channel = try ChannelName(validating: name, maxLength: configuration.maxChannelNameLength)
        } catch {
            return .failure(NativeError(.invalidChannel, error.description))
        }
        if let operation,
            case .denied(let reason) = configuration.policy.decide(operation, channel.rawValue, by: principal)
        {
            return .failure(NativeError(.permissionDenied, reason))
        }
        return .success(channel)
    }

    private func position(in command: NativeCommand) -> Result<StreamPosition?, NativeError> {
        guard let value = command.params["since"], !(value is NSNull) else { return .success(nil) }
        guard let text = value as? String, let position = StreamPosition(parsing: text) else {
            return .failure(NativeError(.invalidPosition, "\"since\" must be a message id, EPOCH:OFFSET"))
        }
        return .success(position)
    }
}
