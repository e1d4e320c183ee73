import NIOCore
import Testing

@testable import SwitchboardHTTP

@Suite("HTTP read timeouts")
struct HTTPReadTimeoutsTests {
    let start = NIODeadline.uptimeNanoseconds(1_000_000_000_000)
    func at(_ seconds: Int64) -> NIODeadline { start + .seconds(seconds) }

    func timeouts() -> HTTPReadTimeouts {
        HTTPReadTimeouts(headerTimeout: .seconds(10), idleTimeout: .seconds(60), now: start)
    }

    @Test("a kept-alive connection with no request is idle for idle_timeout, then closed quietly")
    func idle() {
        let t = timeouts()
        #expect(t.expiry(now: at(59)) == nil)
        #expect(t.expiry(now: at(60)) == .idleConnection)
    }

    @Test("a head gets header_timeout from its first byte; too slow is a 408")
    func slowHead() {
        var t = timeouts()
        t.bytesReceived(now: at(30))
        #expect(t.phase == .readingHead && t.expiry(now: at(39)) == nil)
        t.bytesReceived(now: at(35))  // more bytes do not extend it
        #expect(t.expiry(now: at(40)) == .slowRequest)
    }

    @Test("a body must start within header_timeout of its head, and end within idle_timeout")
    func body() {
        var t = timeouts()
        t.bytesReceived(now: at(0))
        t.headReceived(expectsBody: true, now: at(1))
        #expect(t.phase == .awaitingBody && t.expiry(now: at(11)) == .slowRequest)
        t.bytesReceived(now: at(5))
        #expect(t.phase == .readingBody && t.expiry(now: at(64)) == nil && t.expiry(now: at(65)) == .slowRequest)
        t.requestEnded()
        #expect(t.phase == .busy && t.deadline == nil && t.expiry(now: at(10_000)) == nil)
    }

    @Test("while the server answers the client is not on the clock; after a kept-alive answer it is idle again")
    func busyThenIdle() {
        var t = timeouts()
        t.bytesReceived(now: at(0))
        t.headReceived(expectsBody: false, now: at(0))
        #expect(t.phase == .busy && t.deadline == nil)
        t.responseSent(keepAlive: true, now: at(100))
        #expect(t.phase == .idle && t.expiry(now: at(159)) == nil && t.expiry(now: at(160)) == .idleConnection)
    }

    @Test("a last answer closes the connection within header_timeout even if the client never reads it")
    func lastAnswer() {
        var t = timeouts()
        t.requestEnded()
        t.responseSent(keepAlive: false, now: at(5))
        #expect(t.phase == .closing && t.expiry(now: at(14)) == nil && t.expiry(now: at(15)) == .idleConnection)
        // A pipelined request after it changes nothing: it is not answered, the deadline stands.
        t.headReceived(expectsBody: false, now: at(6))
        t.requestEnded()
        t.responseSent(keepAlive: true, now: at(7))
        #expect(t.phase == .closing && t.expiry(now: at(15)) == .idleConnection)
        var slow = timeouts()
        slow.bytesReceived(now: at(0))
        slow.closing(now: at(10))  // the 408 was written
        #expect(slow.expiry(now: at(19)) == nil && slow.expiry(now: at(20)) == .idleConnection)
    }
}
