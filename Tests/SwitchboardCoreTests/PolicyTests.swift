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

    @Test("a refusal says what and which option decides")
    func reasons() {
        #expect(
            policy.decide(.publish, "prices", by: .anonymous)
                == .denied(
                    reason:
                        "not allowed to publish to channel prices (security.client_publish, or a credential that grants it)"
                )
        )
        let restricted = ChannelPolicy(clientPublish: [], clientSubscribe: [])
        guard case .denied(let reason) = restricted.decide(.subscribe, "jobs", destination: .queue, by: .anonymous)
        else {
            Issue.record("expected a refusal")
            return
        }
        #expect(reason.contains("consume queue jobs") && reason.contains("security.client_subscribe"))
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
