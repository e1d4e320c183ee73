import Testing

@testable import SwitchboardCore

@Suite("Channel policy")
struct PolicyTests {
    let policy = ChannelPolicy(clientPublish: ["chat", "chat.*"], clientSubscribe: ["*"])

    @Test("the back end may do anything; an anonymous client what everyone may")
    func anonymous() {
        #expect(policy.allows(.publish, "prices", by: .backend))
        #expect(policy.allows(.publish, "chat", by: .anonymous))
        #expect(policy.allows(.publish, "chat.lobby", by: .anonymous))
        #expect(!policy.allows(.publish, "chatroom", by: .anonymous))
        #expect(!policy.allows(.publish, "prices", by: .anonymous))
        #expect(policy.allows(.subscribe, "prices", by: .anonymous))
    }

    @Test("a credential's grants add to what everyone may")
    func grants() {
        let feed = Principal.client(ChannelGrants(publish: ["prices", "orders.*"], subscribe: []))
        #expect(policy.allows(.publish, "prices", by: feed))
        #expect(policy.allows(.publish, "orders.eu", by: feed))
        #expect(policy.allows(.publish, "chat", by: feed))
        #expect(!policy.allows(.publish, "news", by: feed))
        let restricted = ChannelPolicy(clientPublish: [], clientSubscribe: ["public.*"])
        #expect(!restricted.allows(.subscribe, "private.a", by: .anonymous))
        #expect(restricted.allows(.subscribe, "public.a", by: .anonymous))
        #expect(restricted.allows(.subscribe, "private.a", by: .client(ChannelGrants(subscribe: ["private.*"]))))
        #expect(restricted.allows(.publish, "x", by: .client(.everything)))
    }

    @Test("queues: no client may use one unless client_queues or a grant says so")
    func queues() {
        #expect(!policy.allows(.subscribe, "orders", destination: .queue, by: .anonymous))
        #expect(!policy.allows(.publish, "chat", destination: .queue, by: .anonymous))
        #expect(
            policy.allows(.subscribe, "orders", destination: .queue, by: .client(ChannelGrants(subscribe: ["orders"])))
        )
        let open = ChannelPolicy(clientQueues: ["jobs.*"])
        #expect(open.allows(.publish, "jobs.a", destination: .queue, by: .anonymous))
        #expect(open.allows(.subscribe, "jobs.a", destination: .queue, by: .anonymous))
        #expect(!open.allows(.subscribe, "orders", destination: .queue, by: .anonymous))
    }

    @Test("an account may do exactly what its lists grant")
    func accounts() {
        let reader = Principal.account(ChannelGrants(publish: [], subscribe: ["prices"]))
        #expect(policy.allows(.subscribe, "prices", by: reader))
        #expect(!policy.allows(.subscribe, "news", by: reader))  // every client may; this account may not
        #expect(!policy.allows(.publish, "chat", by: reader))
        #expect(policy.allows(.subscribe, "prices", destination: .queue, by: reader))
        guard case .denied(let reason) = policy.decide(.subscribe, "news", by: reader) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("the login's read list"))
    }

    @Test("a refusal says what and which option decides")
    func reasons() {
        #expect(
            policy.decide(.publish, "prices", by: .anonymous)
                == .denied(
                    reason:
                        "not allowed to publish to channel prices (security.client_publish, or a credential that grants it)"
                )
        )
        guard case .denied(let reason) = policy.decide(.subscribe, "jobs", destination: .queue, by: .anonymous)
        else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("consume queue jobs") && reason.contains("security.client_queues"))
    }

    @Test("glob patterns: * any run, ? one character, whole names only")
    func globs() {
        #expect(GlobPattern.matches("chat.*", "chat.room"))
        #expect(GlobPattern.matches("*", "anything"))
        #expect(GlobPattern.matches("a?c", "abc"))
        #expect(GlobPattern.matches("*.eu.*", "orders.eu.paris"))
        #expect(!GlobPattern.matches("chat.*", "chatroom"))
        #expect(!GlobPattern.matches("a?c", "ac"))
        #expect(!GlobPattern.matches("", "a"))
        #expect(GlobPattern.anyMatches(["x", "y*"], "yes"))
        #expect(!GlobPattern.anyMatches([], "yes"))
    }
}

@Suite("Connection limiter")
struct ConnectionLimiterTests {
    @Test("per address and in total; slots are given back; a proxy's slot moves to its client")
    func limits() throws {
        let limiter = ConnectionLimiter(maxConnections: 3, perAddress: 2)
        let a1 = try limiter.admit(address: "a").get()
        _ = try limiter.admit(address: "a").get()
        #expect(throws: ConnectionLimiter.Refusal.tooManyFromAddress(limit: 2)) {
            try limiter.admit(address: "a").get()
        }
        let proxied = try limiter.admit(address: nil).get()
        #expect(limiter.count == 3)
        #expect(throws: ConnectionLimiter.Refusal.tooManyConnections(limit: 3)) {
            try limiter.admit(address: "b").get()
        }
        #expect(proxied.reassign(to: "a") == .tooManyFromAddress(limit: 2))
        #expect(proxied.reassign(to: "c") == nil)
        #expect(limiter.count(from: "c") == 1)
        #expect(proxied.reassign(to: "d") == nil)  // a new request of the proxy's connection, for another client
        #expect(limiter.count(from: "c") == 0 && limiter.count(from: "d") == 1)
        a1.release()
        proxied.release()
        #expect(limiter.count == 1 && limiter.count(from: "a") == 1 && limiter.count(from: "d") == 0)
        _ = try limiter.admit(address: "a").get()
    }
}
