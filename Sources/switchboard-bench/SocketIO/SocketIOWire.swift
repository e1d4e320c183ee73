import ArgumentParser
import NIOCore

/// Which server the Socket.IO clients talk to: how a subscriber joins a room and how a message is
/// published. Switchboard's rooms are channels with built-in events; the reference peer
/// (`peer start sioserver`, python-socketio) has `join` and `publish` handlers of its own.
enum SocketIODialect: String, ExpressibleByArgument, Codable {
    case switchboard
    case peer

    /// The Socket.IO EVENT that joins `room` (acknowledged with id 1).
    func join(_ room: String) -> String {
        switch self {
        case .switchboard: "21[\"subscribe\",{\"channel\":\"\(room)\"}]"
        case .peer: "21[\"join\",\"\(room)\"]"
        }
    }

    /// The EVENT that publishes `payload` (benchmark payloads are ASCII: no JSON escaping needed).
    func publish(_ room: String, payload: ByteBuffer, ack: Int) -> String {
        let data = String(buffer: payload)
        switch self {
        case .switchboard: return "2\(ack)[\"publish\",{\"channel\":\"\(room)\",\"data\":\"\(data)\"}]"
        case .peer: return "2\(ack)[\"publish\",\"\(room)\",\"\(data)\"]"
        }
    }
}

/// The bits of Engine.IO and Socket.IO the load generator needs, without JSON parsing.
enum SocketIOWire {
    /// A client WebSocket text frame (masked with a zero key, which leaves the payload as it is).
    static func maskedText(_ text: String) -> ByteBuffer {
        let bytes = Array(text.utf8)
        var frame = ByteBuffer()
        frame.reserveCapacity(bytes.count + 14)
        frame.writeInteger(UInt8(0x81))
        switch bytes.count {
        case 0...125:
            frame.writeInteger(UInt8(0x80 | UInt8(bytes.count)))
        case 126...65535:
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(bytes.count))
        default:
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(bytes.count))
        }
        frame.writeInteger(UInt32(0))
        frame.writeBytes(bytes)
        return frame
    }

    /// Records the benchmark payload of an Engine.IO packet when it is a Socket.IO event (`42...`): the
    /// first JSON string that parses as a payload (both dialects carry it as a string argument).
    @inline(__always)
    static func recordEvent<Bytes: BidirectionalCollection<UInt8>>(
        _ packet: Bytes,
        now: UInt64,
        stats: DeliveryStats,
        state: inout SubscriptionState
    ) {
        var index = packet.startIndex
        guard packet.count > 2, packet[index] == UInt8(ascii: "4") else { return }
        index = packet.index(after: index)
        guard packet[index] == UInt8(ascii: "2") else { return }
        while index < packet.endIndex {
            if packet[index] == UInt8(ascii: "\"") {
                let rest = packet[packet.index(after: index)...]
                if Payload.parse(rest) != nil {
                    stats.record(rest, now: now, state: &state)
                    return
                }
            }
            index = packet.index(after: index)
        }
        stats.unexpected += 1
    }
}
