import Crypto
import NIOCore
import SwitchboardAuth
import SwitchboardCore
import Testing

@testable import SwitchboardNative

/// The native protocol's session as pure traces: commands in, actions out.
@Suite("Native protocol session")
struct NativeSessionTests {
    func command(_ json: String) -> NativeCommand {
        switch NativeCommand.parse(ByteBuffer(string: json)) {
        case .success(let command): return command
        case .failure(let error): fatalError("bad test command \(json): \(error.message)")
        }
    }

    func trace(_ action: NativeSession.Action) -> String {
        switch action {
        case .connected(let id, let user, let info, let expiresAt):
            return "connected \(id ?? -1) \(user ?? "-") \(info ?? "-")" + (expiresAt.map { " until \($0)" } ?? "")
        case .refreshed(let id, let expiresAt, let revoked):
            return "refreshed \(id ?? -1) until \(expiresAt.map(String.init) ?? "-")"
                + revoked.map { " revoked \($0.rawValue)" }.joined()
        case .presence(let id, let channel): return "presence \(id ?? -1) \(channel.rawValue)"
        case .subscribe(let id, let channel, let since):
            return "subscribe \(id ?? -1) \(channel.rawValue) \(since?.description ?? "-")"
        case .unsubscribe(let id, let channel): return "unsubscribe \(id ?? -1) \(channel.rawValue)"
        case .publish(let id, let channel, let request):
            return
                "publish \(id ?? -1) \(channel.rawValue) \(request.contentType ?? "-") \(String(buffer: request.payload))"
        case .history(let id, let channel, let since, let limit):
            return "history \(id ?? -1) \(channel.rawValue) \(since?.description ?? "-") \(limit)"
        case .pong(let id): return "pong \(id ?? -1)"
        case .answer(let id, let call, let answer): return "answer \(id ?? -1) \(call) \(answer)"
        case .rpc(let id, let method, let data): return "rpc \(id ?? -1) \(method) \(data)"
        case .error(let error): return "error \(error.id ?? -1) \(error.code.name)"
        }
    }

    func session(maxSubscriptions: Int = 2, publishable: String = "open-*") -> NativeSession {
        NativeSession(
            configuration: .init(
                maxSubscriptions: maxSubscriptions,
                policy: ChannelPolicy(clientPublish: [publishable])
            )
        )
    }

    @Test("malformed commands are refused with a reason")
    func parsing() {
        for bad in ["nope", "[1]", #"{"id":-1,"method":"ping"}"#, #"{"id":1}"#, #"{"method":"ping","params":3}"#] {
            guard case .failure(let error) = NativeCommand.parse(ByteBuffer(string: bad)) else {
                Issue.record("\(bad) parsed")
                continue
            }
            #expect(error.code == .badRequest)
        }
    }

    @Test("connect comes first (ping excepted), once")
    func connectFirst() {
        var s = session()
        #expect(
            trace(s.receive(command(#"{"id":1,"method":"subscribe","params":{"channel":"a"}}"#)))
                == "error 1 not_connected"
        )
        #expect(trace(s.receive(command(#"{"id":2,"method":"ping"}"#))) == "pong 2")
        #expect(trace(s.receive(command(#"{"id":3,"method":"connect"}"#))) == "connected 3 - -")
        #expect(trace(s.receive(command(#"{"id":4,"method":"connect"}"#))) == "error 4 already_connected")
    }

    @Test("subscribe and unsubscribe: channel names, positions, duplicates, the limit")
    func subscriptions() {
        var s = session()
        _ = s.receive(command(#"{"method":"connect"}"#))
        #expect(
            trace(s.receive(command(#"{"id":1,"method":"subscribe","params":{"channel":"a","since":"e:3"}}"#)))
                == "subscribe 1 a e:3"
        )
        #expect(
            trace(s.receive(command(#"{"id":2,"method":"subscribe","params":{"channel":"a"}}"#)))
                == "error 2 already_subscribed"
        )
        #expect(
            trace(s.receive(command(#"{"id":3,"method":"subscribe","params":{"channel":"b c"}}"#)))
                == "error 3 invalid_channel"
        )
        #expect(
            trace(s.receive(command(#"{"id":4,"method":"subscribe","params":{"channel":"b","since":"x"}}"#)))
                == "error 4 invalid_position"
        )
        #expect(
            trace(s.receive(command(#"{"id":5,"method":"subscribe","params":{"channel":"b"}}"#))) == "subscribe 5 b -"
        )
        #expect(
            trace(s.receive(command(#"{"id":6,"method":"subscribe","params":{"channel":"c"}}"#)))
                == "error 6 too_many_subscriptions"
        )
        #expect(
            trace(s.receive(command(#"{"id":7,"method":"unsubscribe","params":{"channel":"a"}}"#))) == "unsubscribe 7 a"
        )
        #expect(
            trace(s.receive(command(#"{"id":8,"method":"unsubscribe","params":{"channel":"a"}}"#)))
                == "error 8 not_subscribed"
        )
        s.channelEnded(ChannelName(unchecked: "b"))
        #expect(s.channels.isEmpty)
    }

    @Test("publish: only where allowed; data as text, JSON or base64; size limit")
    func publish() {
        var s = NativeSession(configuration: .init(maxMessageSize: 8, policy: ChannelPolicy(clientPublish: ["open*"])))
        _ = s.receive(command(#"{"method":"connect"}"#))
        #expect(
            trace(s.receive(command(#"{"id":1,"method":"publish","params":{"channel":"closed","data":"x"}}"#)))
                == "error 1 permission_denied"
        )
        #expect(
            trace(s.receive(command(#"{"id":2,"method":"publish","params":{"channel":"open","data":"hi"}}"#)))
                == "publish 2 open text/plain; charset=utf-8 hi"
        )
        #expect(
            trace(s.receive(command(#"{"id":3,"method":"publish","params":{"channel":"open","data":{"a":1}}}"#)))
                == #"publish 3 open application/json {"a":1}"#
        )
        #expect(
            trace(s.receive(command(#"{"id":4,"method":"publish","params":{"channel":"open","b64data":"aGk="}}"#)))
                == "publish 4 open application/octet-stream hi"
        )
        #expect(
            trace(s.receive(command(#"{"id":5,"method":"publish","params":{"channel":"open","data":"123456789"}}"#)))
                == "error 5 message_too_large"
        )
        #expect(
            trace(s.receive(command(#"{"id":6,"method":"publish","params":{"channel":"open"}}"#)))
                == "error 6 bad_request"
        )
    }

    @Test("connect: user only where anonymous users are allowed, info kept as JSON; presence where tracked")
    func identityAndPresence() {
        var s = NativeSession(
            configuration: .init(tracksPresence: { $0.rawValue.hasPrefix("room") }, anonymousUsers: true)
        )
        #expect(
            trace(s.receive(command(#"{"id":1,"method":"connect","params":{"user":"ann","info":{"n":1}}}"#)))
                == #"connected 1 ann {"n":1}"#
        )
        #expect(
            trace(s.receive(command(#"{"id":2,"method":"presence","params":{"channel":"room1"}}"#)))
                == "presence 2 room1"
        )
        #expect(
            trace(s.receive(command(#"{"id":3,"method":"presence","params":{"channel":"hall"}}"#)))
                == "error 3 presence_disabled"
        )
        var strict = NativeSession(configuration: .init())  // the default: users come from credentials only
        #expect(
            trace(strict.receive(command(#"{"id":1,"method":"connect","params":{"user":"ann"}}"#)))
                == "error 1 permission_denied"
        )
        #expect(
            trace(strict.receive(command(#"{"id":2,"method":"connect","params":{"info":"text"}}"#)))
                == "error 2 bad_request"
        )
        #expect(strict.state == .awaitingConnect)
    }

    @Test("history limits, unknown methods")
    func historyAndUnknown() {
        var s = session()
        _ = s.receive(command(#"{"method":"connect"}"#))
        #expect(
            trace(s.receive(command(#"{"id":1,"method":"history","params":{"channel":"a"}}"#))) == "history 1 a - 100"
        )
        #expect(
            trace(s.receive(command(#"{"id":2,"method":"history","params":{"channel":"a","limit":0}}"#)))
                == "error 2 bad_request"
        )
        #expect(trace(s.receive(command(#"{"id":3,"method":"teleport"}"#))) == "error 3 unknown_method")
        #expect(
            trace(s.receive(command(#"{"id":4,"method":"answer","params":{"call":7,"result":{"ok":true}}}"#)))
                == #"answer 4 7 result("{\"ok\":true}")"#
        )
        #expect(
            trace(s.receive(command(#"{"id":5,"method":"answer","params":{"call":7,"error":"no"}}"#)))
                == #"answer 5 7 error("no")"#
        )
        #expect(
            trace(s.receive(command(#"{"id":6,"method":"answer","params":{"result":1}}"#))) == "error 6 bad_request"
        )
        #expect(
            trace(s.receive(command(#"{"id":7,"method":"rpc","params":{"method":"add","data":[1,2]}}"#)))
                == "rpc 7 add [1,2]"
        )
        #expect(trace(s.receive(command(#"{"id":8,"method":"rpc","params":{"data":1}}"#))) == "error 8 bad_request")
    }
    /// An HS256 token signed with `secret`.
    func token(_ claims: String, secret: String = "s3cret") -> String {
        let input = Base64URL.encode(Array(#"{"alg":"HS256"}"#.utf8)) + "." + Base64URL.encode(Array(claims.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Array(input.utf8), using: SymmetricKey(data: Array(secret.utf8)))
        return input + "." + Base64URL.encode(Array(mac))
    }

    @Test("a token names the user, grants its channels, and sets an expiry that refresh moves")
    func tokens() {
        let now: Int64 = 1_800_000_000_000
        var s = NativeSession(
            configuration: .init(
                maxSubscriptions: 4,
                policy: ChannelPolicy(clientPublish: [], clientSubscribe: ["news"]),
                tokens: TokenVerifier(configuration: .init(secret: "s3cret"))
            )
        )
        let first = token(#"{"sub":"ann","exp":1800000060,"channels":["team.*"]}"#)
        #expect(
            trace(s.receive(command(#"{"id":1,"method":"connect","params":{"token":"\#(first)"}}"#), now: now))
                == "connected 1 ann - until 1800000060000"
        )
        #expect(s.principal == .client(ChannelGrants(publish: ["team.*"], subscribe: ["team.*"])))
        #expect(
            trace(s.receive(command(#"{"id":2,"method":"publish","params":{"channel":"team.a","data":1}}"#), now: now))
                == "publish 2 team.a application/json 1"
        )
        #expect(
            trace(s.receive(command(#"{"id":3,"method":"publish","params":{"channel":"news","data":1}}"#), now: now))
                == "error 3 permission_denied"
        )
        for channel in ["team.a", "news"] {
            _ = s.receive(command(#"{"method":"subscribe","params":{"channel":"\#(channel)"}}"#), now: now)
        }
        let next = token(#"{"sub":"ann","exp":1800000120}"#)
        #expect(
            trace(s.receive(command(#"{"id":4,"method":"refresh","params":{"token":"\#(next)"}}"#), now: now))
                == "refreshed 4 until 1800000120000 revoked team.a"
        )
        #expect(s.expiresAt == 1_800_000_120_000 && s.principal == .anonymous)  // the new token grants nothing more
        #expect(s.channels == [ChannelName(unchecked: "news")])
        let other = token(#"{"sub":"bob","exp":1800000120}"#)
        #expect(
            trace(s.receive(command(#"{"id":5,"method":"refresh","params":{"token":"\#(other)"}}"#), now: now))
                == "error 5 invalid_token"
        )
        #expect(s.expiresAt == 1_800_000_120_000)
        var anonymous = NativeSession(
            configuration: .init(tokens: TokenVerifier(configuration: .init(secret: "s3cret")))
        )
        _ = anonymous.receive(command(#"{"id":1,"method":"connect"}"#), now: now)
        #expect(
            trace(anonymous.receive(command(#"{"id":2,"method":"refresh","params":{"token":"\#(next)"}}"#), now: now))
                == "error 2 bad_request"
        )
    }
}

@Suite("Native protocol rate limit")
struct CommandRateLimiterTests {
    @Test("a burst of `rate`, then refusals, refilled with time; a long run of refusals disconnects")
    func bucket() {
        var limiter = CommandRateLimiter(rate: 3, abuseLimit: 4, now: 0)
        #expect((0..<3).map { _ in limiter.admit(now: 0) } == [.allow, .allow, .allow])
        #expect(limiter.admit(now: 0) == .refuse)
        #expect(limiter.admit(now: 400) == .allow)  // 1.2 tokens refilled after 400 ms
        #expect(limiter.admit(now: 400) == .refuse)
        #expect(limiter.admit(now: 400) == .refuse)
        #expect(limiter.admit(now: 400) == .refuse)
        #expect(limiter.admit(now: 400) == .disconnect)
        var unlimited = CommandRateLimiter(rate: 0, now: 0)
        #expect((0..<1000).allSatisfy { _ in unlimited.admit(now: 0) == .allow })
    }

}
