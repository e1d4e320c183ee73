import NIOCore
import Testing

@testable import SwitchboardSocketIO

/// The Engine.IO session's transport state machine, and Socket.IO packet reassembly, as pure traces.
@Suite("Engine.IO session state")
struct EngineIOSessionStateTests {
    @Test("A poll waits for output, or is answered at once when there is some")
    func polls() {
        var state = EngineIOSessionState(transport: .polling)
        let r1 = state.pollArrived(hasOutput: true)
        #expect(r1 == .answer)
        state.pollAnswered(final: false)
        let r2 = state.pollArrived(hasOutput: false)
        #expect(r2 == .wait)
        #expect(state.pollWaiting)
        #expect(state.postRefusal == nil)
    }

    @Test("Two polls at once end the session (the reference server's overlap)")
    func overlap() {
        var state = EngineIOSessionState(transport: .polling)
        let r3 = state.pollArrived(hasOutput: false)
        #expect(r3 == .wait)
        let r4 = state.pollArrived(hasOutput: false)
        #expect(r4 == .overlap)
    }

    @Test("The upgrade: probe, noop for the poll, then the WebSocket; polls and probes refused after")
    func upgrade() {
        var state = EngineIOSessionState(transport: .polling)
        let r5 = state.pollArrived(hasOutput: false)
        #expect(r5 == .wait)
        let r6 = state.probeOpened()
        #expect(r6)
        let again = state.probeOpened()
        #expect(!again)  // one probe at a time
        let r7 = state.probeReceived(.ping, isProbe: true)
        #expect(r7 == .answerProbe)
        #expect(state.holdsOutput)
        state.pollAnswered(final: false)
        let r8 = state.pollArrived(hasOutput: true)
        #expect(r8 == .answerNoop)
        state.pollAnswered(final: false)
        let r9 = state.probeReceived(.upgrade, isProbe: false)
        #expect(r9 == .completeUpgrade)
        #expect(state.transport == .webSocket && !state.holdsOutput)
        let r10 = state.pollArrived(hasOutput: false)
        #expect(r10 == .refuse(.badRequest))
        #expect(state.postRefusal == .badRequest)
        let r11 = state.probeOpened()
        #expect(!r11)
    }

    @Test("A probe that says anything else, or an upgrade before the probe, is abandoned")
    func abandonedProbe() {
        var state = EngineIOSessionState(transport: .polling)
        let r12 = state.probeOpened()
        #expect(r12)
        let r13 = state.probeReceived(.upgrade, isProbe: false)
        #expect(r13 == .abandon)
        #expect(state.transport == .polling)
        let r14 = state.probeOpened()
        #expect(r14)
        let r15 = state.probeReceived(.message, isProbe: false)
        #expect(r15 == .abandon)
        let r16 = state.probeOpened()
        #expect(r16)
        state.probeEnded()
        let r17 = state.pollArrived(hasOutput: true)
        #expect(r17 == .answer)
    }

    @Test("Closing: a waiting poll gets the last packets; without one they wait for the next poll")
    func closing() {
        var waiting = EngineIOSessionState(transport: .polling)
        _ = waiting.pollArrived(hasOutput: false)
        let r18 = waiting.close(drain: false)
        #expect(r18 == .answerWaitingPoll)
        waiting.pollAnswered(final: true)
        let r19 = waiting.pollArrived(hasOutput: false)
        #expect(r19 == .refuse(.unknownSession))
        let r20 = waiting.close(drain: true)
        #expect(r20 == .alreadyClosed)

        var draining = EngineIOSessionState(transport: .polling)
        let r21 = draining.close(drain: true)
        #expect(r21 == .awaitLastPoll)
        #expect(draining.postRefusal == .unknownSession)
        let r22 = draining.pollArrived(hasOutput: false)
        #expect(r22 == .answer)
        draining.pollAnswered(final: true)
        let r23 = draining.pollArrived(hasOutput: false)
        #expect(draining.isClosed && r23 == .refuse(.unknownSession))

        var expired = EngineIOSessionState(transport: .polling)
        let r24 = expired.close(drain: true)
        #expect(r24 == .awaitLastPoll)
        expired.drainExpired()
        let r25 = expired.pollArrived(hasOutput: true)
        #expect(r25 == .refuse(.unknownSession))

        var plain = EngineIOSessionState(transport: .polling)
        let r26 = plain.close(drain: false)
        #expect(r26 == .forget)
        var webSocket = EngineIOSessionState(transport: .webSocket)
        let r27 = webSocket.close(drain: true)
        #expect(r27 == .closeWebSocket)
        let r28 = webSocket.probeOpened()
        #expect(!r28)
    }

    // MARK: Packet reassembly

    func text(_ string: String) -> EngineIOPacket { EngineIOPacket(.message, text: string) }
    func binary(_ bytes: [UInt8]) -> EngineIOPacket {
        EngineIOPacket(.message, payload: ByteBuffer(bytes: bytes), isBinary: true)
    }

    @Test("Binary attachments are put back in place of their placeholders")
    func attachments() throws {
        var assembler = SocketIOPacketAssembler()
        let head = text("52-[\"file\",{\"_placeholder\":true,\"num\":1},{\"_placeholder\":true,\"num\":0}]")
        #expect(try assembler.receive(head, maxAttachments: 10).get() == nil)
        #expect(try assembler.receive(binary([1]), maxAttachments: 10).get() == nil)
        let packet = try #require(try assembler.receive(binary([2]), maxAttachments: 10).get())
        let arguments = try #require(packet.data as? [Any])
        #expect((arguments[1] as? ByteBuffer) == ByteBuffer(bytes: [2]))
        #expect((arguments[2] as? ByteBuffer) == ByteBuffer(bytes: [1]))
        #expect(try assembler.receive(text("2[\"next\"]"), maxAttachments: 10).get()?.kind == .event)
    }

    @Test("Attachments out of turn, missing or too many are refused")
    func badAttachments() {
        var stray = SocketIOPacketAssembler()
        #expect(throws: SocketIOPacket.DecodingError.illegalAttachments) {
            try stray.receive(binary([1]), maxAttachments: 10).get()
        }
        var interrupted = SocketIOPacketAssembler()
        _ = interrupted.receive(text("51-[\"x\",{\"_placeholder\":true,\"num\":0}]"), maxAttachments: 10)
        #expect(throws: SocketIOPacket.DecodingError.illegalAttachments) {
            try interrupted.receive(text("2[\"x\"]"), maxAttachments: 10).get()
        }
        var missing = SocketIOPacketAssembler()
        _ = missing.receive(text("51-[\"x\",{\"_placeholder\":true,\"num\":4}]"), maxAttachments: 10)
        #expect(throws: SocketIOPacket.DecodingError.illegalAttachments) {
            try missing.receive(binary([1]), maxAttachments: 10).get()
        }
        var tooMany = SocketIOPacketAssembler()
        #expect(throws: SocketIOPacket.DecodingError.illegalAttachments) {
            try tooMany.receive(text("53-[\"x\"]"), maxAttachments: 2).get()
        }
    }
}
