import NIOCore
import SwitchboardCore
import Testing

@testable import SwitchboardSTOMP

/// The session state machine as pure traces: frames in, actions out.
@Suite("STOMP session")
struct SessionTests {
    func frame(_ command: String, _ headers: [(String, String)] = [], body: String = "") -> STOMPFrame {
        STOMPFrame(command, headers: headers.map { (name: $0.0, value: $0.1) }, body: ByteBuffer(string: body))
    }

    /// A broker where every client may send and subscribe anywhere (the policy has its own tests below).
    static var open: STOMPSession.Configuration {
        var configuration = STOMPSession.Configuration()
        configuration.policy = ChannelPolicy(clientPublish: ["*"], clientSubscribe: ["*"], clientQueues: ["*"])
        return configuration
    }

    func connected(
        _ configuration: STOMPSession.Configuration = SessionTests.open,
        version: String = "1.2",
        id: String = "sess"
    ) -> STOMPSession {
        var session = STOMPSession(id: id, configuration: configuration)
        _ = session.receive(frame("CONNECT", [("accept-version", version), ("host", "any")]))
        return session
    }

    /// A compact description of actions, for comparing traces.
    func trace(_ actions: [STOMPSession.Action]) -> [String] {
        actions.map { action in
            switch action {
            case .send(let frame):
                let interesting = ["receipt-id", "message", "version", "heart-beat"]
                let headers = frame.headers.filter { interesting.contains($0.name) }.map { "\($0.name)=\($0.value)" }
                return ([frame.command] + headers).joined(separator: " ")
            case .startHeartBeats(let send, let receive): return "heartbeats \(send),\(receive)"
            case .publish(let channel, let request):
                return "publish \(channel.rawValue) \(String(buffer: request.payload))"
            case .enqueue(let queue, let request, let temporary):
                return "enqueue \(queue) \(String(buffer: request.payload))\(temporary ? " temporary" : "")"
            case .subscribe(let subscription, let position):
                return "subscribe \(subscription.id) \(subscription.destination.text) \(subscription.ackMode.rawValue)"
                    + (position.map { " after \($0)" } ?? "")
            case .unsubscribe(let subscription): return "unsubscribe \(subscription.id)"
            case .settle(let key, let tag, let accept, let cumulative):
                return "\(accept ? "ack" : "nack") \(key).\(tag)\(cumulative ? " cumulative" : "")"
            case .close: return "close"
            }
        }
    }

    @Test("CONNECT negotiates the highest common version and heart-beats")
    func connect() {
        var configuration = STOMPSession.Configuration()
        configuration.heartBeatMilliseconds = 1000
        var session = STOMPSession(id: "s1", configuration: configuration)
        let actions = session.receive(
            frame("CONNECT", [("accept-version", "1.0,1.1,1.2"), ("heart-beat", "500,4000")])
        )
        #expect(trace(actions) == ["CONNECTED version=1.2 heart-beat=1000,1000", "heartbeats 4000,1000"])
        #expect(session.state == .connected)
        #expect(session.escaping == .v12)

        var old = STOMPSession(id: "s2")
        #expect(trace(old.receive(frame("CONNECT"))) == ["CONNECTED version=1.0 heart-beat=10000,10000"])
        #expect(old.version == .v10)

        var none = STOMPSession(id: "s3")
        #expect(
            trace(none.receive(frame("STOMP", [("accept-version", "2.0")]))) == [
                "ERROR message=unsupported version version=1.0,1.1,1.2", "close",
            ]
        )
        #expect(STOMPSession.negotiateHeartBeats("0,0", server: 1000)! == (0, 0))
        #expect(STOMPSession.negotiateHeartBeats("x", server: 1000) == nil)
    }

    @Test("frames before CONNECT, a second CONNECT and unknown commands are errors that close")
    func protocolErrors() {
        var session = STOMPSession(id: "s")
        #expect(
            trace(session.receive(frame("SEND", [("destination", "/topic/a"), ("receipt", "r")]))) == [
                "ERROR message=not connected receipt-id=r", "close",
            ]
        )
        #expect(session.receive(frame("CONNECT")).isEmpty)  // closed: nothing more

        var again = connected()
        #expect(trace(again.receive(frame("CONNECT"))) == ["ERROR message=already connected", "close"])
        var unknown = connected()
        #expect(trace(unknown.receive(frame("PUBLISH"))) == ["ERROR message=unknown command", "close"])
    }

    @Test("login is checked when users are configured")
    func login() {
        var configuration = STOMPSession.Configuration()
        configuration.users = ["alice": STOMPUser(login: "alice", passcode: "secret", grants: .none)]
        var good = STOMPSession(id: "a", configuration: configuration)
        #expect(
            trace(good.receive(frame("CONNECT", [("login", "alice"), ("passcode", "secret")])))[0].hasPrefix(
                "CONNECTED"
            )
        )
        var bad = STOMPSession(id: "b", configuration: configuration)
        #expect(
            trace(bad.receive(frame("CONNECT", [("login", "alice"), ("passcode", "nope")]))) == [
                "ERROR message=access refused", "close",
            ]
        )
    }

    @Test("SEND to topics and queues, receipts after the effect, custom headers kept")
    func send() {
        var session = connected()
        let actions = session.receive(
            frame(
                "SEND",
                [("destination", "/topic/chat"), ("receipt", "r1"), ("x-app", "1"), ("x-app", "2")],
                body: "hi"
            )
        )
        #expect(trace(actions) == ["publish chat hi", "RECEIPT receipt-id=r1"])
        if case .publish(_, let request) = actions[0] {
            #expect(request.headers == [MessageHeader(name: "x-app", value: "1")])
        }
        #expect(
            trace(session.receive(frame("SEND", [("destination", "/queue/jobs")], body: "j"))) == ["enqueue jobs j"]
        )
        #expect(
            trace(session.receive(frame("SEND", [("destination", "chat")]))) == [
                "ERROR message=invalid destination", "close",
            ]
        )
        var missing = connected()
        #expect(trace(missing.receive(frame("SEND"))) == ["ERROR message=missing header: destination", "close"])
    }

    @Test("SUBSCRIBE and UNSUBSCRIBE: ids, ack modes, resume position, limits")
    func subscribe() {
        var configuration = Self.open
        configuration.maxSubscriptions = 2
        var session = connected(configuration)
        #expect(
            trace(
                session.receive(
                    frame("SUBSCRIBE", [("id", "0"), ("destination", "/topic/a"), ("last-event-id", "e:5")])
                )
            ) == ["subscribe 0 /topic/a auto after e:5"]
        )
        #expect(
            trace(
                session.receive(
                    frame("SUBSCRIBE", [("id", "1"), ("destination", "/queue/q"), ("ack", "client-individual")])
                )
            ) == ["subscribe 1 /queue/q client-individual"]
        )
        var full = session
        #expect(
            trace(full.receive(frame("SUBSCRIBE", [("id", "2"), ("destination", "/topic/b")]))) == [
                "ERROR message=too many subscriptions", "close",
            ]
        )
        var duplicate = session
        #expect(trace(duplicate.receive(frame("UNSUBSCRIBE", [("id", "0")]))) == ["unsubscribe 0"])
        #expect(
            trace(duplicate.receive(frame("UNSUBSCRIBE", [("id", "0")]))) == [
                "ERROR message=unknown subscription", "close",
            ]
        )
        var noID = connected()
        #expect(
            trace(noID.receive(frame("SUBSCRIBE", [("destination", "/topic/a")]))) == [
                "ERROR message=missing header: id", "close",
            ]
        )
        var v10 = connected(version: "1.0")
        #expect(
            trace(v10.receive(frame("SUBSCRIBE", [("destination", "/topic/a")]))) == [
                "subscribe /topic/a /topic/a auto"
            ]
        )
        var badAck = connected()
        #expect(
            trace(badAck.receive(frame("SUBSCRIBE", [("id", "0"), ("destination", "/topic/a"), ("ack", "sometimes")])))
                == ["ERROR message=invalid header: ack", "close"]
        )
        var closing = session
        #expect(trace(closing.connectionClosed()) == ["unsubscribe 0", "unsubscribe 1"])
    }

    @Test("ACK and NACK: ids per version, cumulative in client mode, topics accepted, unknown ids refused")
    func acknowledgements() {
        var session = connected()
        _ = session.receive(frame("SUBSCRIBE", [("id", "c"), ("destination", "/queue/q"), ("ack", "client")]))
        _ = session.receive(
            frame("SUBSCRIBE", [("id", "i"), ("destination", "/queue/q"), ("ack", "client-individual")])
        )
        #expect(trace(session.receive(frame("ACK", [("id", "1.7")]))) == ["ack 1.7 cumulative"])
        #expect(
            trace(session.receive(frame("NACK", [("id", "2.3"), ("receipt", "r")]))) == [
                "nack 2.3", "RECEIPT receipt-id=r",
            ]
        )
        #expect(session.receive(frame("ACK", [("id", "ep0ch:12")])).isEmpty)  // a topic message
        var unknown = session
        #expect(trace(unknown.receive(frame("ACK", [("id", "9.1")]))) == ["ERROR message=unknown ack id", "close"])
        var missing = session
        #expect(trace(missing.receive(frame("ACK"))) == ["ERROR message=missing header: id", "close"])

        var v11 = connected(version: "1.1")
        _ = v11.receive(frame("SUBSCRIBE", [("id", "c"), ("destination", "/queue/q"), ("ack", "client-individual")]))
        #expect(trace(v11.receive(frame("ACK", [("message-id", "1.4"), ("subscription", "c")]))) == ["ack 1.4"])
        #expect(
            trace(v11.receive(frame("ACK", [("message-id", "1.5")]))) == [
                "ERROR message=missing header: subscription", "close",
            ]
        )
    }

    @Test("transactions: SEND and ACK take effect at COMMIT, in order; ABORT discards")
    func transactions() {
        var session = connected()
        _ = session.receive(
            frame("SUBSCRIBE", [("id", "c"), ("destination", "/queue/q"), ("ack", "client-individual")])
        )
        #expect(session.receive(frame("BEGIN", [("transaction", "t1")])).isEmpty)
        #expect(
            session.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "t1")], body: "1")).isEmpty
        )
        #expect(session.receive(frame("ACK", [("id", "1.1"), ("transaction", "t1")])).isEmpty)
        #expect(
            session.receive(frame("SEND", [("destination", "/queue/b"), ("transaction", "t1")], body: "2")).isEmpty
        )
        #expect(
            trace(session.receive(frame("COMMIT", [("transaction", "t1"), ("receipt", "c1")]))) == [
                "publish a 1", "ack 1.1", "enqueue b 2", "RECEIPT receipt-id=c1",
            ]
        )
        _ = session.receive(frame("BEGIN", [("transaction", "t2")]))
        _ = session.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "t2")], body: "x"))
        #expect(session.receive(frame("ABORT", [("transaction", "t2")])).isEmpty)
        var unknown = session
        #expect(
            trace(unknown.receive(frame("COMMIT", [("transaction", "t2")]))) == [
                "ERROR message=unknown transaction", "close",
            ]
        )
        var duplicate = session
        _ = duplicate.receive(frame("BEGIN", [("transaction", "t3")]))
        #expect(
            trace(duplicate.receive(frame("BEGIN", [("transaction", "t3")]))) == [
                "ERROR message=duplicate transaction", "close",
            ]
        )
        var notOpen = session
        #expect(
            trace(notOpen.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "zz")]))) == [
                "ERROR message=unknown transaction", "close",
            ]
        )
    }

    @Test("reply-to a temporary queue: rewritten to the private queue, subscribed once")
    func temporaryQueues() {
        var session = connected()
        let first = session.receive(
            frame("SEND", [("destination", "/queue/rpc"), ("reply-to", "/temp-queue/answers")], body: "q")
        )
        #expect(trace(first) == ["subscribe /temp-queue/answers /queue/temp.sess.answers auto", "enqueue rpc q"])
        if case .enqueue(_, let request, _) = first[1] {
            #expect(request.headers == [MessageHeader(name: "reply-to", value: "/queue/temp.sess.answers")])
        }
        #expect(
            trace(
                session.receive(
                    frame("SEND", [("destination", "/queue/rpc"), ("reply-to", "/temp-queue/answers")], body: "q2")
                )
            ) == ["enqueue rpc q2"]
        )
        #expect(
            trace(session.receive(frame("SEND", [("destination", "/queue/temp.other.x")], body: "r"))) == [
                "enqueue temp.other.x r temporary"
            ]
        )
        var stranger = connected(id: "other")
        #expect(
            trace(stranger.receive(frame("SUBSCRIBE", [("id", "1"), ("destination", "/queue/temp.sess.answers")]))) == [
                "ERROR message=access refused", "close",
            ]
        )
    }

    @Test("heart-beat timer: sends after silence, times out after twice the interval")
    func heartBeats() {
        var session = connected()
        guard case .nothing = session.heartBeatTick(sinceReceived: 100, sinceSent: 500, send: 1000, receive: 1000)
        else {
            Issue.record("expected nothing")
            return
        }
        guard
            case .sendHeartBeat = session.heartBeatTick(sinceReceived: 100, sinceSent: 1001, send: 1000, receive: 1000)
        else {
            Issue.record("expected a heart-beat")
            return
        }
        guard
            case .timedOut(let actions) = session.heartBeatTick(
                sinceReceived: 2001,
                sinceSent: 0,
                send: 1000,
                receive: 1000
            )
        else {
            Issue.record("expected a timeout")
            return
        }
        #expect(trace(actions) == ["ERROR message=heart-beat timeout", "close"])
        #expect(session.state == .closed)
    }

    @Test("the policy: anonymous clients SEND where client_publish allows, use no queue; a login only its lists")
    func permissions() {
        var configuration = STOMPSession.Configuration()
        configuration.policy = ChannelPolicy(clientPublish: ["chat", "chat.*"], clientSubscribe: ["public.*"])
        var anonymous = connected(configuration)
        #expect(
            trace(anonymous.receive(frame("SEND", [("destination", "/topic/chat.lobby")], body: "hi"))) == [
                "publish chat.lobby hi"
            ]
        )
        var intruder = anonymous
        #expect(
            trace(intruder.receive(frame("SEND", [("destination", "/topic/prices")], body: "0"))) == [
                "ERROR message=permission denied", "close",
            ]
        )
        var worker = anonymous
        #expect(
            trace(worker.receive(frame("SEND", [("destination", "/queue/jobs"), ("receipt", "r")], body: "j"))) == [
                "ERROR message=permission denied receipt-id=r", "close",
            ]
        )
        var reader = anonymous
        #expect(
            trace(reader.receive(frame("SUBSCRIBE", [("id", "1"), ("destination", "/topic/prices")]))) == [
                "ERROR message=permission denied", "close",
            ]
        )
        #expect(
            trace(anonymous.receive(frame("SUBSCRIBE", [("id", "1"), ("destination", "/topic/public.news")]))) == [
                "subscribe 1 /topic/public.news auto"
            ]
        )
        var drainer = anonymous
        #expect(
            trace(drainer.receive(frame("SUBSCRIBE", [("id", "q"), ("destination", "/queue/orders.eu")]))) == [
                "ERROR message=permission denied", "close",
            ]
        )
        // A reply to a temporary queue is a capability: allowed for anyone connected.
        #expect(
            trace(anonymous.receive(frame("SEND", [("destination", "/queue/temp.x.y")], body: "r"))) == [
                "enqueue temp.x.y r temporary"
            ]
        )

        configuration.users = [
            "feed": STOMPUser(
                login: "feed",
                passcode: "pw",
                grants: ChannelGrants(publish: ["prices", "orders.*"], subscribe: ["orders.*"])
            )
        ]
        var feed = STOMPSession(id: "f", configuration: configuration)
        _ = feed.receive(frame("CONNECT", [("login", "feed"), ("passcode", "pw")]))
        #expect(feed.principal == .account(configuration.users["feed"]!.grants))
        #expect(
            trace(feed.receive(frame("SEND", [("destination", "/topic/prices")], body: "1"))) == ["publish prices 1"]
        )
        #expect(
            trace(feed.receive(frame("SEND", [("destination", "/queue/orders.eu")], body: "o"))) == [
                "enqueue orders.eu o"
            ]
        )
        #expect(
            trace(feed.receive(frame("SUBSCRIBE", [("id", "a"), ("destination", "/queue/orders.eu")]))) == [
                "subscribe a /queue/orders.eu auto"
            ]
        )
        var chatty = feed
        #expect(
            trace(feed.receive(frame("SEND", [("destination", "/topic/news")], body: "n"))) == [
                "ERROR message=permission denied", "close",
            ]
        )
        // A login's lists are all it may do: not even what every anonymous client may (chat, public.*).
        #expect(
            trace(chatty.receive(frame("SUBSCRIBE", [("id", "p"), ("destination", "/topic/public.news")]))) == [
                "ERROR message=permission denied", "close",
            ]
        )
    }

    @Test("a login's passcode may be configured as its SHA-256 only")
    func passcodeDigest() {
        var configuration = Self.open
        // sha256("s3cret")
        let digest = STOMPUser(login: "x", passcode: "s3cret", grants: .none).passcodeSHA256
        #expect(digest.count == 32)
        configuration.users = ["bob": STOMPUser(login: "bob", passcodeSHA256: digest, grants: .everything)]
        var good = STOMPSession(id: "g", configuration: configuration)
        #expect(
            trace(good.receive(frame("CONNECT", [("login", "bob"), ("passcode", "s3cret")])))[0].hasPrefix("CONNECTED")
        )
        var bad = STOMPSession(id: "b", configuration: configuration)
        #expect(
            trace(bad.receive(frame("CONNECT", [("login", "bob"), ("passcode", "s3cre")]))) == [
                "ERROR message=access refused", "close",
            ]
        )
        #expect(STOMPUser(legacy: "ann:a:b")?.accepts(passcode: "a:b") == true)
        #expect(STOMPUser(legacy: ":x") == nil)
    }

    @Test("transactions are bounded in frames and bytes (headers count); their bytes are counted while open")
    func transactionLimits() {
        var configuration = Self.open
        configuration.maxTransactionBytes = 600
        configuration.maxTransactionFrames = 3
        var session = connected(configuration)
        _ = session.receive(frame("BEGIN", [("transaction", "t")]))
        #expect(
            session.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "t")], body: "123456")).isEmpty
        )
        // The body, and the bookkeeping a retained message costs.
        #expect(session.pendingTransactionBytes == 6 + 160)
        var tooBig = session
        #expect(
            trace(
                tooBig.receive(
                    frame("SEND", [("destination", "/topic/a"), ("transaction", "t")], body: String(repeating: "x", count: 440))
                )
            ) == ["ERROR message=transaction too large", "close"]
        )
        var bigHeaders = session  // an empty body is not free when its headers are large
        #expect(
            trace(
                bigHeaders.receive(
                    frame("SEND", [("destination", "/topic/a"), ("transaction", "t"), ("x", String(repeating: "h", count: 300))])
                )
            ) == ["ERROR message=transaction too large", "close"]
        )
        #expect(session.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "t")], body: "1")).isEmpty)
        #expect(session.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "t")], body: "1")).isEmpty)
        var tooMany = session
        #expect(
            trace(tooMany.receive(frame("SEND", [("destination", "/topic/a"), ("transaction", "t")], body: ""))) == [
                "ERROR message=transaction too large", "close",
            ]
        )
        _ = session.receive(frame("ABORT", [("transaction", "t")]))
        #expect(session.pendingTransactionBytes == 0)
    }

    @Test("a connection without CONNECT in time is ended; a connected one is not")
    func connectTimeout() {
        var waiting = STOMPSession(id: "w")
        #expect(trace(waiting.connectTimedOut(seconds: 10)) == ["ERROR message=connect timeout", "close"])
        var session = connected()
        #expect(session.connectTimedOut(seconds: 10).isEmpty)
    }

    @Test("DISCONNECT: receipt, then close; nothing after")
    func disconnect() {
        var session = connected()
        #expect(
            trace(session.receive(frame("DISCONNECT", [("receipt", "bye")]))) == ["RECEIPT receipt-id=bye", "close"]
        )
        #expect(session.receive(frame("SEND", [("destination", "/topic/a")])).isEmpty)
    }
}
