import NIOCore
import NIOWebSocket
import SwitchboardCore
import Testing

@testable import SwitchboardWebSocket

/// The receive-side WebSocket state machine, as pure traces: frames in, actions out.
@Suite("WebSocketFrameAssembler")
struct WebSocketFrameAssemblerTests {
    let mask: WebSocketMaskingKey = [1, 2, 3, 4]

    func frame(
        _ opcode: WebSocketOpcode,
        _ bytes: [UInt8],
        fin: Bool = true,
        masked: Bool = true,
        rsv1: Bool = false
    ) -> WebSocketFrame {
        var data = ByteBuffer(bytes: bytes)
        if masked { data.webSocketMask(mask) }
        return WebSocketFrame(fin: fin, rsv1: rsv1, opcode: opcode, maskKey: masked ? mask : nil, data: data)
    }

    func text(_ string: String, fin: Bool = true) -> WebSocketFrame { frame(.text, Array(string.utf8), fin: fin) }

    @Test("a single text frame is a message")
    func singleFrame() {
        var assembler = WebSocketFrameAssembler(maxMessageSize: 100)
        #expect(assembler.frameReceived(text("hello")) == .message(.text, ByteBuffer(string: "hello")))
    }

    @Test("fragments are joined, with control frames in between")
    func fragments() {
        var assembler = WebSocketFrameAssembler(maxMessageSize: 100)
        #expect(assembler.frameReceived(text("hel", fin: false)) == .none)
        #expect(assembler.frameReceived(frame(.ping, [9])) == .sendPong(ByteBuffer(bytes: [9])))
        #expect(
            assembler.frameReceived(frame(.continuation, Array("lo".utf8)))
                == .message(.text, ByteBuffer(string: "hello"))
        )
    }

    @Test("protocol violations fail with 1002 and the state stays failed")
    func violations() {
        let cases: [WebSocketFrame] = [
            frame(.text, [1], masked: false),
            frame(.text, [1], rsv1: true),
            frame(.continuation, [1]),
            frame(.ping, [1], fin: false),
            frame(.ping, [UInt8](repeating: 0, count: 126)),
            frame(WebSocketOpcode(encodedWebSocketOpcode: 3)!, []),
            frame(.connectionClose, [3]),
            frame(.connectionClose, [0x03, 0xEC]),  // 1004 is reserved.
        ]
        for bad in cases {
            var assembler = WebSocketFrameAssembler(maxMessageSize: 100)
            guard case .fail(let code, _) = assembler.frameReceived(bad) else {
                Issue.record("no failure for \(bad)")
                continue
            }
            #expect(code == 1002)
            #expect(assembler.frameReceived(text("after")) == .none)
        }
    }

    @Test("a new message inside a fragmented one is a protocol error")
    func interleaved() {
        var assembler = WebSocketFrameAssembler(maxMessageSize: 100)
        _ = assembler.frameReceived(text("a", fin: false))
        guard case .fail(1002, _) = assembler.frameReceived(text("b")) else {
            Issue.record("expected 1002")
            return
        }
    }

    @Test("invalid UTF-8 fails with 1007, even split across fragments, and as soon as it is seen")
    func invalidUTF8() {
        var whole = WebSocketFrameAssembler(maxMessageSize: 100)
        guard case .fail(1007, _) = whole.frameReceived(frame(.text, [0xCE, 0xBA, 0xFF])) else {
            Issue.record("expected 1007")
            return
        }
        var split = WebSocketFrameAssembler(maxMessageSize: 100)
        #expect(split.frameReceived(frame(.text, [0xCE], fin: false)) == .none)  // Incomplete is fine until the end.
        #expect(split.frameReceived(frame(.continuation, [0xBA])) == .message(.text, ByteBuffer(bytes: [0xCE, 0xBA])))
        var truncated = WebSocketFrameAssembler(maxMessageSize: 100)
        guard case .fail(1007, _) = truncated.frameReceived(frame(.text, [0xCE])) else {
            Issue.record("expected 1007 for a truncated sequence")
            return
        }
    }

    @Test("messages over the limit fail with 1009, counting all fragments")
    func tooBig() {
        var assembler = WebSocketFrameAssembler(maxMessageSize: 4)
        #expect(assembler.frameReceived(text("abc", fin: false)) == .none)
        guard case .fail(1009, _) = assembler.frameReceived(frame(.continuation, Array("de".utf8))) else {
            Issue.record("expected 1009")
            return
        }
    }

    @Test("the closing handshake: echo the peer's code; our close is answered by theirs")
    func closing() {
        var peerCloses = WebSocketFrameAssembler(maxMessageSize: 100)
        #expect(
            peerCloses.frameReceived(frame(.connectionClose, [0x03, 0xE8, 0x6F, 0x6B])) == .replyToClose(code: 1000)
        )
        #expect(peerCloses.isClosing)
        var emptyClose = WebSocketFrameAssembler(maxMessageSize: 100)
        #expect(emptyClose.frameReceived(frame(.connectionClose, [])) == .replyToClose(code: nil))
        var weClose = WebSocketFrameAssembler(maxMessageSize: 100)
        weClose.closeSent()
        #expect(weClose.frameReceived(text("late")) == .none)
        #expect(weClose.frameReceived(frame(.connectionClose, [0x03, 0xE9])) == .closeCompleted)
    }

    @Test("close reasons must be UTF-8")
    func closeReason() {
        var assembler = WebSocketFrameAssembler(maxMessageSize: 100)
        guard case .fail(1007, _) = assembler.frameReceived(frame(.connectionClose, [0x03, 0xE8, 0xFF])) else {
            Issue.record("expected 1007")
            return
        }
    }
}
