import Foundation
import NIOCore
import NIOHTTP1
import SwitchboardAuth
import SwitchboardCore
import SwitchboardWebSocket

@testable import SwitchboardHTTP
@testable import SwitchboardNative
@testable import SwitchboardRedis
@testable import SwitchboardSTOMP
@testable import SwitchboardServer
@testable import SwitchboardSocketIO

/// WebSocket frames (RFC 6455 §5) and their assembly into messages, as a client's bytes arrive in pieces.
enum WebSocketFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        let parser = WebSocketFrameParser(maxFrameSize: 1 << 16)
        var assembler = WebSocketFrameAssembler(maxMessageSize: 1 << 17)
        FuzzReads.feed(input) { pending in
            while let frame = try parser.nextFrame(from: &pending) {
                if case .fail = assembler.frameReceived(frame) { return false }
            }
            return true
        }
    }
}

/// Input arriving as a network delivers it: in reads, whose size the first byte decides.
enum FuzzReads {
    /// Appends each read to a buffer and hands it to `consume`, until the input ends, `consume` returns
    /// false or throws.
    static func feed(_ input: UnsafeRawBufferPointer, _ consume: (inout ByteBuffer) throws -> Bool) {
        let step = max(1, Int(input.first ?? 1))
        var pending = ByteBuffer()
        var offset = 0
        while offset < input.count {
            let end = min(input.count, offset + step)
            pending.writeBytes(UnsafeRawBufferPointer(rebasing: input[offset..<end]))
            offset = end
            guard (try? consume(&pending)) == true else { return }
        }
    }
}

/// STOMP frames, and the session that runs them (any order of any commands).
enum STOMPFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        var decoder = STOMPFrameDecoder(limits: .init(maxHeaderLength: 1024, maxHeaders: 16, maxBodySize: 1 << 16))
        var configuration = STOMPSession.Configuration()
        configuration.policy = ChannelPolicy(clientPublish: ["a*"], clientSubscribe: ["*"])
        configuration.maxTransactionBytes = 4096
        configuration.maxTransactionFrames = 16
        var session = STOMPSession(id: "fuzz", configuration: configuration)
        var buffer = ByteBuffer(bytes: input)
        while true {
            do {
                guard let frame = try decoder.next(from: &buffer) else { return }
                _ = session.receive(frame)
                decoder.escaping = session.escaping
                // What the server writes must read back as the same frame.
                var encoded = STOMPFrameEncoder.encode(frame, escaping: session.escaping)
                var echo = STOMPFrameDecoder(
                    limits: .init(maxHeaderLength: 1 << 20, maxHeaders: 1 << 10, maxBodySize: 1 << 20)
                )
                echo.escaping = session.escaping
                if let again = try? echo.next(from: &encoded), again.command != frame.command {
                    fatalError("STOMP frame did not survive a round trip: \(frame.command) became \(again.command)")
                }
            } catch {
                _ = session.fail(.decoding(error))
                return
            }
        }
    }
}

/// Engine.IO packets: polling bodies (`\u{1e}`-separated, `b` + base64) and WebSocket text messages.
enum EngineIOFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        let buffer = ByteBuffer(bytes: input)
        _ = EngineIOPacket.decode(pollingPayload: buffer)
        _ = EngineIOPacket.decode(text: buffer)
    }
}

/// Socket.IO packets and the reassembly of binary attachments (text and binary messages interleaved).
enum SocketIOFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        var assembler = SocketIOPacketAssembler()
        // Messages separated by 0x1E; a message starting with 0x00 is binary.
        for piece in input.split(separator: 0x1E, omittingEmptySubsequences: false) {
            let bytes = ByteBuffer(bytes: piece)
            let isBinary = piece.first == 0
            let message =
                isBinary
                ? EngineIOPacket(.message, payload: bytes, isBinary: true)
                : EngineIOPacket(.message, payload: bytes)
            if case .failure = assembler.receive(message, maxAttachments: 4, maxBytes: 4096) { return }
        }
        _ = SocketIOPacket.decode(String(decoding: input, as: UTF8.self), maxAttachments: 10)
    }
}

/// Native-protocol commands (one JSON object per line) and the session that runs them.
enum NativeFuzz {
    static let verifier = TokenVerifier(configuration: .init(secret: "fuzz-secret"))

    static func run(_ input: UnsafeRawBufferPointer) {
        var session = NativeSession(
            configuration: .init(
                maxSubscriptions: 4,
                maxMessageSize: 4096,
                policy: ChannelPolicy(clientPublish: ["a*"], clientSubscribe: ["*"]),
                tokens: verifier
            )
        )
        for line in input.split(separator: 0x0A) {
            guard case .success(let command) = NativeCommand.parse(ByteBuffer(bytes: line)) else { continue }
            _ = session.receive(command, now: 1_800_000_000_000)
        }
    }
}

/// Signed tokens and JWK Sets: every algorithm's path, with keys of every kind configured.
enum JWTFuzz {
    /// Built for each input: a verifier kept in a global holds its keys through pointers LeakSanitizer
    /// cannot follow, and each input then also checks that a verifier and its keys are freed.
    static func makeVerifier() -> TokenVerifier {
        let verifier = TokenVerifier(configuration: .init(secret: "fuzz-secret"))
        let set = """
            {"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty":"OKP","crv":"Ed25519","kid":"o","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}
            """
        if let keys = try? JSONWebKeySet(json: Data(set.utf8)) { verifier.replaceKeys(keys) }
        return verifier
    }

    static func run(_ input: UnsafeRawBufferPointer) {
        let text = String(decoding: input, as: UTF8.self)
        _ = makeVerifier().verify(text, now: 1_300_819_000_000)
        _ = try? JSONWebKeySet(json: Data(input))
        if let decoded = Base64URL.decode(text), Base64URL.encode(decoded) != text {
            fatalError("base64url is not canonical: \(text) decodes to bytes that encode otherwise")
        }
    }
}

/// The configuration file's TOML.
enum TOMLFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        guard let text = String(validating: input, as: UTF8.self) else { return }
        _ = try? TOMLDocument(parsing: text)
    }
}

/// What the HTTP front end reads from headers before anything else: Host, Origin, forwarding chains.
enum HTTPSecurityFuzz {
    static let security: RequestSecurity = {
        var configuration = HTTPConfiguration()
        configuration.applyHostDefault(listenerHost: "127.0.0.1")
        configuration.origins = ["https://*.example.com", "http://localhost:*"]
        configuration.trustedProxies = ["127.0.0.1", "10.0.0.0/8", "::1"]
        return RequestSecurity(configuration: configuration)
    }()

    static func run(_ input: UnsafeRawBufferPointer) {
        let values = String(decoding: input, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var headers = HTTPHeaders()
        for (name, value) in zip(["Host", "Origin", "X-Forwarded-For", "Forwarded", "X-Real-IP"], values) {
            headers.add(name: name, value: String(value))
        }
        _ = security.allowsHost(headers)
        let client = security.client(peer: values.count > 5 ? String(values[5]) : "127.0.0.1", headers: headers)
        _ = security.privilegeRefusal(headers, client: client)
        _ = security.checkOrigin(headers, for: .twoWay)
        _ = OriginPattern(String(values.first ?? ""))
        _ = IPRange(String(values.last ?? ""))
    }
}

/// What Redis sends (RESP2/RESP3) as it arrives in pieces, through the reply router, and stored message
/// blobs: Redis is trusted, but a broken link or a proxy in the way must not crash a node.
enum RESPFuzz {
    static func run(_ input: UnsafeRawBufferPointer) {
        let decoder = RESPDecoder(limits: .init(maxLineLength: 1024, maxBulkLength: 1 << 16, maxAggregateCount: 1024))
        var router = RedisReplyRouter<Int>()
        let commands = [
            RESPCommand("PING"), RESPCommand("SSUBSCRIBE", "a", "b"), RESPCommand("GET", "k"),
            RESPCommand("SUNSUBSCRIBE", "a"),
        ]
        for (index, command) in commands.enumerated() { router.commandSent(command, waiter: index, now: .now()) }
        FuzzReads.feed(input) { pending in
            while let value = try decoder.next(from: &pending) {
                if case .protocolViolation = router.valueReceived(value) { return false }
                if let blob = value.bytes {
                    _ = RedisMessageCodec.decode(
                        blob,
                        channel: ChannelName(unchecked: "fuzz"),
                        position: StreamPosition(epoch: "e", offset: 1)
                    )
                }
            }
            return true
        }
    }
}
