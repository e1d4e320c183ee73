import NIOCore
import Testing

@testable import SwitchboardCore

@Suite("Model")
struct ModelTests {
    @Test(
        "channel names: allowed characters and length",
        arguments: ["chat", "a.b-c_d:e@f~g+h!i", String(repeating: "x", count: 255)]
    )
    func validNames(_ name: String) throws {
        #expect(try ChannelName(validating: name).rawValue == name)
    }

    @Test("channel names: rejections say why")
    func invalidNames() {
        #expect(throws: ChannelNameError.empty) { try ChannelName(validating: "") }
        #expect(throws: ChannelNameError.tooLong(length: 256, limit: 255)) {
            try ChannelName(validating: String(repeating: "x", count: 256))
        }
        #expect(throws: ChannelNameError.invalidCharacter(",")) { try ChannelName(validating: "a,b") }
        #expect(throws: ChannelNameError.invalidCharacter(" ")) { try ChannelName(validating: "a b") }
        #expect(throws: ChannelNameError.invalidCharacter("/")) { try ChannelName(validating: "a/b") }
    }

    @Test("positions parse and print as EPOCH:OFFSET")
    func positions() {
        #expect(StreamPosition(parsing: "k3j9x:17") == StreamPosition(epoch: "k3j9x", offset: 17))
        #expect(StreamPosition(parsing: "k3j9x:17")?.description == "k3j9x:17")
        for bad in ["", ":1", "abc", "abc:", "abc:-1", "abc:x", "a b:1", "abc:1:2"] {
            #expect(StreamPosition(parsing: bad) == nil, "\(bad)")
        }
        var generator = SystemRandomNumberGenerator()
        let epoch = StreamPosition.makeEpoch(using: &generator)
        #expect(epoch.count == 8)
        #expect(StreamPosition(parsing: epoch + ":0")?.epoch == epoch)
    }

    @Test("UTF-8 validation follows RFC 3629")
    func utf8() {
        #expect(UTF8Validation.isValid(Array("héllo €𝄞".utf8)))
        #expect(!UTF8Validation.isValid([0xC0, 0x80]))  // Overlong.
        #expect(!UTF8Validation.isValid([0xED, 0xA0, 0x80]))  // Surrogate.
        #expect(!UTF8Validation.isValid([0xF4, 0x90, 0x80, 0x80]))  // Above U+10FFFF.
        #expect(!UTF8Validation.isValid([0xE2, 0x82]))  // Truncated.
        #expect(!UTF8Validation.isValid([0xFF]))
    }

    @Test("messages know whether their payload is text")
    func messageText() {
        let position = StreamPosition(epoch: "e", offset: 1)
        let channel = ChannelName(unchecked: "c")
        let text = Message(
            channel: channel,
            position: position,
            payload: ByteBuffer(string: "hi"),
            contentType: nil,
            eventType: nil,
            timestamp: 0
        )
        let binary = Message(
            channel: channel,
            position: position,
            payload: ByteBuffer(bytes: [0xFF, 0x00]),
            contentType: nil,
            eventType: nil,
            timestamp: 0
        )
        #expect(text.isText && text.text == "hi")
        #expect(!binary.isText && binary.text == nil)
    }

    @Test("disconnect reasons map to documented WebSocket close codes")
    func disconnectCodes() {
        #expect(DisconnectReason.channelDeleted.webSocketCloseCode == 4001)
        #expect(DisconnectReason.slowConsumer.webSocketCloseCode == 4002)
        #expect(DisconnectReason.positionTooOld.webSocketCloseCode == 4003)
        #expect(DisconnectReason.shutdown.webSocketCloseCode == 1001)
        #expect(DisconnectReason.policyViolation.webSocketCloseCode == 1008)
    }
}

@Suite("MessageHistory")
struct MessageHistoryTests {
    func message(_ offset: UInt64, time: Int64 = 0) -> Message {
        Message(
            channel: ChannelName(unchecked: "c"),
            position: StreamPosition(epoch: "e", offset: offset),
            payload: ByteBuffer(),
            contentType: nil,
            eventType: nil,
            timestamp: time
        )
    }

    @Test("keeps the last N messages")
    func capacity() {
        var history = MessageHistory(capacity: 3, ttlMilliseconds: 1000)
        for offset in 1...5 { history.append(message(UInt64(offset)), now: 0) }
        #expect(history.messages(after: 0).map(\.position.offset) == [3, 4, 5])
        #expect(history.messages(after: 3).map(\.position.offset) == [4, 5])
        #expect(history.messages(after: 5).isEmpty)
        #expect(history.messages(after: 0, limit: 1).map(\.position.offset) == [3])
    }

    @Test("resume decisions")
    func resumeDecisions() {
        var history = MessageHistory(capacity: 3, ttlMilliseconds: 1000)
        for offset in 1...5 { history.append(message(UInt64(offset)), now: 0) }
        let exact = history.resume(from: StreamPosition(epoch: "e", offset: 2), epoch: "e", lastOffset: 5)
        #expect(exact.gap == nil && exact.messages.map(\.position.offset) == [3, 4, 5])
        let old = history.resume(from: StreamPosition(epoch: "e", offset: 1), epoch: "e", lastOffset: 5)
        #expect(old.gap == .tooOld && old.messages.count == 3)
        let current = history.resume(from: StreamPosition(epoch: "e", offset: 5), epoch: "e", lastOffset: 5)
        #expect(current.gap == nil && current.messages.isEmpty)
        let other = history.resume(from: StreamPosition(epoch: "x", offset: 5), epoch: "e", lastOffset: 5)
        #expect(other.gap == .newEpoch && other.messages.count == 3)
        let live = history.resume(from: nil, epoch: "e", lastOffset: 5)
        #expect(live.gap == nil && live.messages.isEmpty && live.position.offset == 5)
    }

    @Test("an empty history after expiry is a gap for anyone behind")
    func expiredGap() {
        var history = MessageHistory(capacity: 3, ttlMilliseconds: 10)
        history.append(message(1, time: 0), now: 0)
        history.expire(now: 100)
        let result = history.resume(from: StreamPosition(epoch: "e", offset: 0), epoch: "e", lastOffset: 1)
        #expect(result.gap == .tooOld && result.messages.isEmpty)
    }
}
