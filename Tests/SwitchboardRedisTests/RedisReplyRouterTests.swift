import NIOCore
import Testing

@testable import SwitchboardRedis

/// The router as a trace: commands sent, values received, what it says to do.
@Suite struct RedisReplyRouterTests {
    let now = NIODeadline.uptimeNanoseconds(1_000)

    func push(_ parts: String...) -> RESPValue { .push(parts.map { .bulkString(ByteBuffer(string: $0)) }) }

    @Test func repliesGoToCommandsInOrderSent() {
        var router = RedisReplyRouter<Int>()
        router.commandSent(RESPCommand("GET", "a"), waiter: 1, now: now)
        router.commandSent(RESPCommand("GET", "b"), waiter: 2, now: now + .seconds(1))
        #expect(router.oldestSentAt == now)
        guard case .succeed(1, .integer(10)) = router.valueReceived(.integer(10)) else {
            Issue.record()
            return
        }
        #expect(router.oldestSentAt == now + .seconds(1))
        guard case .fail(2, let error) = router.valueReceived(.error("WRONGTYPE no")) else {
            Issue.record()
            return
        }
        #expect(error.code == .reply && error.replyPrefix == "WRONGTYPE")
        #expect(!router.isWaiting)
    }

    @Test func aReplyNobodyWaitsForIsAViolation() {
        var router = RedisReplyRouter<Int>()
        guard case .protocolViolation = router.valueReceived(.simpleString("OK")) else {
            Issue.record()
            return
        }
    }

    @Test func subscribeWaitsForOneConfirmationPerChannelWhileMessagesFlow() {
        var router = RedisReplyRouter<Int>()
        router.commandSent(RESPCommand("SSUBSCRIBE", "a", "b"), waiter: 1, now: now)
        router.commandSent(RESPCommand("PING"), waiter: 2, now: now)
        guard case .ignore = router.valueReceived(push("ssubscribe", "a", "1")) else {
            Issue.record()
            return
        }
        // A message on the first channel can come before the second is confirmed.
        guard case .message("a", let payload) = router.valueReceived(push("smessage", "a", "hello")) else {
            Issue.record()
            return
        }
        #expect(String(buffer: payload) == "hello")
        guard case .succeed(1, _) = router.valueReceived(push("ssubscribe", "b", "2")) else {
            Issue.record()
            return
        }
        guard case .succeed(2, .simpleString("PONG")) = router.valueReceived(.simpleString("PONG")) else {
            Issue.record()
            return
        }
    }

    @Test func aRefusedSubscribeFailsItsWaiter() {
        var router = RedisReplyRouter<Int>()
        router.commandSent(RESPCommand("SSUBSCRIBE", "a", "b"), waiter: 1, now: now)
        guard case .fail(1, let error) = router.valueReceived(.error("CROSSSLOT Keys in request don't hash")) else {
            Issue.record()
            return
        }
        #expect(error.replyPrefix == "CROSSSLOT")
        #expect(!router.isWaiting)
    }

    @Test func anUnaskedUnsubscribeIsReported() {
        var router = RedisReplyRouter<Int>()
        guard case .unsubscribedByServer("news") = router.valueReceived(push("sunsubscribe", "news", "0")) else {
            Issue.record()
            return
        }
        guard case .protocolViolation = router.valueReceived(push("ssubscribe", "news", "1")) else {
            Issue.record()
            return
        }
        guard case .message("x", _) = router.valueReceived(push("pmessage", "x*", "x", "p")) else {
            Issue.record()
            return
        }
        guard case .ignore = router.valueReceived(push("invalidate", "key")) else {
            Issue.record()
            return
        }
    }

    @Test func closingReturnsEveryWaiterOnce() {
        var router = RedisReplyRouter<Int>()
        router.commandSent(RESPCommand("GET", "a"), waiter: 1, now: now)
        router.commandSent(RESPCommand("SUNSUBSCRIBE", "a"), waiter: 2, now: now)
        #expect(router.connectionClosed() == [1, 2])
        #expect(router.connectionClosed() == [])
    }
}

@Suite struct RedisLinkStateMachineTests {
    typealias Machine = RedisLinkStateMachine<String>

    @Test func connectsRestoresSubscriptionsThenIsUp() {
        var link = Machine()
        guard case .connect = link.startRequested() else {
            Issue.record()
            return
        }
        guard case .restoreSubscriptions("c1") = link.connectSucceeded("c1", hasSubscriptions: true) else {
            Issue.record()
            return
        }
        #expect(!link.isUp, "not up before the subscriptions are back: messages would be missed unseen")
        guard case .announceUp = link.subscriptionsRestored() else {
            Issue.record()
            return
        }
        #expect(link.isUp && link.connection == "c1")
    }

    @Test func aBrokenLinkIsAnnouncedOnceAndRetriedWithGrowingDelays() {
        var link = Machine()
        link.backoff = .init(initial: 100, maximum: 1_000)
        _ = link.startRequested()
        _ = link.connectSucceeded("c1", hasSubscriptions: false)
        let error = RedisError(.connectionClosed, "killed")
        guard case .announceDownAndRetry(_, milliseconds: 0) = link.connectionClosed(error, jitter: 0.5) else {
            Issue.record()
            return
        }
        var delays: [Int64] = []
        for _ in 0..<6 {
            guard case .connect = link.retryTimerFired() else {
                Issue.record()
                return
            }
            guard case .retry(let delay) = link.connectFailed(error, jitter: 1) else {
                Issue.record()
                return
            }
            delays.append(delay)
        }
        #expect(delays == [100, 200, 400, 800, 1_000, 1_000])
        _ = link.retryTimerFired()
        guard case .announceUp = link.connectSucceeded("c2", hasSubscriptions: false) else {
            Issue.record()
            return
        }
        #expect(link.connection == "c2")
    }

    @Test func jitterKeepsAtLeastHalfTheDelay() {
        let backoff = Machine.Backoff(initial: 100, maximum: 5_000)
        #expect(backoff.delay(attempt: 3, jitter: 0) == 200)
        #expect(backoff.delay(attempt: 3, jitter: 0.999) == 399)
        #expect(backoff.delay(attempt: 60, jitter: 1) == 5_000)
    }

    @Test func theFirstFailedConnectIsAnnounced() {
        var link = Machine()
        _ = link.startRequested()
        guard case .announceDownAndRetry = link.connectFailed(RedisError(.unavailable, "refused"), jitter: 0) else {
            Issue.record()
            return
        }
    }

    @Test func shutdownClosesAndEndsTheLife() {
        var link = Machine()
        _ = link.startRequested()
        _ = link.connectSucceeded("c1", hasSubscriptions: false)
        guard case .close("c1") = link.shutdownRequested() else {
            Issue.record()
            return
        }
        guard case .none = link.connectionClosed(RedisError(.connectionClosed, ""), jitter: 0) else {
            Issue.record()
            return
        }
        guard case .none = link.retryTimerFired() else {
            Issue.record()
            return
        }
    }
}

@Suite struct RedisEndpointTests {
    @Test func readsURLs() throws {
        #expect(try RedisEndpoint(url: "redis://127.0.0.1:6390") == RedisEndpoint(host: "127.0.0.1", port: 6390))
        #expect(try RedisEndpoint(url: "localhost") == RedisEndpoint(host: "localhost"))
        #expect(
            try RedisEndpoint(url: "rediss://app:p%40ss@cache.internal:6380/2")
                == RedisEndpoint(
                    host: "cache.internal",
                    port: 6380,
                    username: "app",
                    password: "p@ss",
                    database: 2,
                    tls: true
                )
        )
        #expect(try RedisEndpoint(url: "redis://secret@[::1]:7000").password == "secret")
        #expect(try RedisEndpoint(url: "redis://secret@[::1]:7000").host == "::1")
        #expect(try RedisEndpoint(url: "redis://app:pw@h:1").description == "redis://app@h:1", "no password")
    }

    @Test func refusesBadURLs() {
        for url in [
            "http://h", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x", "redis://h/db", "redis://[::1",
        ] {
            #expect(throws: RedisEndpointError.self, "\(url)") { try RedisEndpoint(url: url) }
        }
    }
}
