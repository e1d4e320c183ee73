import Foundation
import NIOCore
import SwitchboardCore
import Testing

@testable import SwitchboardSocketIO

/// The Engine.IO v4 and Socket.IO v5 codecs against the examples of the protocol documents
/// (socket.io/docs/v4/engine-io-protocol and socket-io-protocol).
@Suite("Socket.IO codecs")
struct SocketIOCodecTests {
    let allocator = ByteBufferAllocator()

    @Test("Engine.IO packets decode and encode as in the protocol document")
    func engineIOPackets() throws {
        let open = try #require(EngineIOPacket.decode(text: ByteBuffer(string: "0{\"sid\":\"x\"}")))
        #expect(open.kind == .open && String(buffer: open.payload) == "{\"sid\":\"x\"}")
        #expect(EngineIOPacket.decode(text: ByteBuffer(string: "2probe"))?.kind == .ping)
        #expect(EngineIOPacket.decode(text: ByteBuffer(string: "7")) == nil)
        #expect(EngineIOPacket.decode(text: ByteBuffer(string: "abc")) == nil)
        #expect(EngineIOPacket.decode(text: ByteBuffer()) == nil)
        let binary = try #require(EngineIOPacket.decode(text: ByteBuffer(string: "bAQIDBA==")))
        #expect(binary.isBinary && Array(binary.payload.readableBytesView) == [1, 2, 3, 4])
        #expect(EngineIOPacket(.message, text: "hello").text == "4hello")
    }

    @Test("A polling payload is packets joined by the record separator")
    func pollingPayload() throws {
        let packets = try #require(
            EngineIOPacket.decode(pollingPayload: ByteBuffer(string: "4hello\u{1e}2\u{1e}bAQIDBA=="))
        )
        #expect(packets.map(\.text) == ["4hello", "2", "bAQIDBA=="])
        #expect(EngineIOPacket.decode(pollingPayload: ByteBuffer(string: "4hello\u{1e}x")) == nil)
        #expect(EngineIOPacket.decode(pollingPayload: ByteBuffer(string: "4a\u{1e}\u{1e}4b")) == nil)
    }

    @Test("WebSocket frames of Engine.IO messages read back for polling")
    func framesReadBack() {
        var frames = EngineIOPacket(.message, text: "2[\"a\"]").webSocketFrame(allocator: allocator)
        var binary = EngineIOPacket(.message, payload: ByteBuffer(bytes: [9, 8]), isBinary: true)
            .webSocketFrame(allocator: allocator)
        frames.writeBuffer(&binary)
        var seen: [(Bool, [UInt8])] = []
        EngineIOFrames.forEachMessage(in: frames) { seen.append(($0, Array($1.readableBytesView))) }
        #expect(seen.count == 2)
        #expect(seen[0].0 == false && String(decoding: seen[0].1, as: UTF8.self) == "42[\"a\"]")
        #expect(seen[1].0 == true && seen[1].1 == [9, 8])
    }

    @Test(
        "Socket.IO packets of the protocol document round-trip",
        arguments: [
            "0", "0/admin,{\"token\":\"123\"}", "1/admin,", "2[\"foo\"]", "2/admin,[\"bar\"]", "212[\"foo\"]",
            "3/admin,13[\"bar\"]", "4{\"message\":\"Not authorized\"}", "2[1,\"2\",{\"3\":[true]}]",
        ]
    )
    func socketIORoundTrip(_ text: String) throws {
        let packet = try SocketIOPacket.decode(text).get()
        #expect(packet.encoded() == text)
    }

    @Test("Socket.IO fields are read as the reference parser reads them")
    func socketIOFields() throws {
        let binary = try SocketIOPacket.decode("51-/admin,7[\"file\",{\"_placeholder\":true,\"num\":0}]").get()
        #expect(binary.kind == .binaryEvent && binary.attachments == 1)
        #expect(binary.namespace == "/admin" && binary.id == 7)
        let bare = try SocketIOPacket.decode("0/random").get()
        #expect(bare.kind == .connect && bare.namespace == "/random" && bare.data == nil)
        let rebuilt = try #require(
            SocketIOBinary.reconstruct(binary.data!, attachments: [ByteBuffer(bytes: [1, 2])]) as? [Any]
        )
        #expect((rebuilt[1] as? ByteBuffer) == ByteBuffer(bytes: [1, 2]))
        let (plain, attachments) = SocketIOBinary.deconstruct(rebuilt)
        #expect(attachments == [ByteBuffer(bytes: [1, 2])])
        #expect(
            SocketIOPacket(.binaryEvent, attachments: 1, data: plain).encoded()
                == "51-[\"file\",{\"_placeholder\":true,\"num\":0}]"
        )
        #expect(SocketIOBinary.reconstruct(binary.data!, attachments: []) == nil)
    }

    @Test(
        "Malformed Socket.IO packets are refused",
        arguments: [
            ("abc", SocketIOPacket.DecodingError.unknownType), ("8", .unknownType), ("", .unknownType),
            ("4[]", .invalidPayload), ("2{}", .invalidPayload), ("2[true]", .invalidPayload),
            ("2abc[\"x\"]", .invalidPayload),
            ("2[]", .invalidPayload), ("2[\"connect\"]", .invalidPayload), ("1{}", .invalidPayload),
            ("0[1]", .invalidPayload), ("3{}", .invalidPayload), ("5[\"x\"]", .illegalAttachments),
            ("511-[\"x\"]", .illegalAttachments), ("5-[\"x\"]", .illegalAttachments),
        ]
    )
    func socketIOErrors(_ text: String, _ error: SocketIOPacket.DecodingError) {
        #expect(throws: error) { try SocketIOPacket.decode(text).get() }
    }

    @Test("A channel message is one event frame shared by every socket of the namespace")
    func eventEncoder() {
        let message = Message(
            channel: ChannelName(unchecked: "chat"),
            position: StreamPosition(epoch: "ep", offset: 3),
            payload: ByteBuffer(string: "{\"a\":1}"),
            contentType: "application/json",
            eventType: "news",
            timestamp: 1
        )
        let frames = SocketIOEventEncoder(namespace: "/admin", includesOffset: true)
            .encode(message, allocator: allocator)
        var texts: [String] = []
        EngineIOFrames.forEachMessage(in: frames) { _, payload in texts.append(String(buffer: payload)) }
        #expect(
            texts == ["42/admin,[\"news\",{\"channel\":\"chat\",\"id\":\"ep:3\",\"data\":{\"a\":1}},\"chat ep:3\"]"]
        )
        let binary = Message(
            channel: ChannelName(unchecked: "c"),
            position: StreamPosition(epoch: "e", offset: 1),
            payload: ByteBuffer(bytes: [0xFF, 0]),
            contentType: nil,
            eventType: "disconnect",
            timestamp: 1
        )
        var parts: [(Bool, [UInt8])] = []
        EngineIOFrames.forEachMessage(
            in: SocketIOEventEncoder(namespace: "/", includesOffset: false).encode(binary, allocator: allocator)
        ) { parts.append(($0, Array($1.readableBytesView))) }
        #expect(
            String(decoding: parts[0].1, as: UTF8.self)
                == "451-[\"message\",{\"channel\":\"c\",\"id\":\"e:1\",\"data\":{\"_placeholder\":true,\"num\":0}}]"
        )
        #expect(parts[1].0 && parts[1].1 == [0xFF, 0])
    }
}
