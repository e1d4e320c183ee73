import NIOCore
import SwitchboardHTTP

/// Turns the Engine.IO messages of one connection into Socket.IO packets: a text message is a packet,
/// unless it announces binary attachments, which then come as the next binary messages and are put back
/// in place of their placeholders. A pure value (no I/O): what comes in, what goes out.
struct SocketIOPacketAssembler {
    /// A binary packet and the attachments received so far (boxed: rare, and large inline).
    private final class Pending {
        let packet: SocketIOPacket
        var attachments: [ByteBuffer] = []
        var bytes = 0
        init(_ packet: SocketIOPacket) { self.packet = packet }
    }

    private var pending: Pending?

    init() {}

    /// Whether a packet waits for attachments (its sender gets a deadline to complete it).
    var isAwaitingAttachments: Bool { pending != nil }

    /// The packet `message` completes, nil while attachments are still due, or why the connection must
    /// be closed (the reference parser's errors, and attachments adding up to more than `maxBytes`:
    /// each message is bounded by `maxPayload`, but a packet's attachments together must be too, or one
    /// client could make the server hold `maxAttachments` times as much).
    mutating func receive(
        _ message: EngineIOPacket,
        maxAttachments: Int,
        maxBytes: Int = .max
    ) -> Result<SocketIOPacket?, SocketIOPacket.DecodingError> {
        if message.isBinary {
            // An attachment nobody announced is as malformed as a bad packet.
            guard let pending else { return .failure(.illegalAttachments) }
            pending.bytes += message.payload.readableBytes
            guard pending.bytes <= maxBytes else {
                self.pending = nil
                return .failure(.attachmentsTooLarge)
            }
            pending.attachments.append(message.payload)
            guard pending.attachments.count == pending.packet.attachments else { return .success(nil) }
            self.pending = nil
            guard let data = pending.packet.data,
                let rebuilt = SocketIOBinary.reconstruct(data, attachments: pending.attachments)
            else { return .failure(.illegalAttachments) }
            var packet = pending.packet
            packet.data = rebuilt
            return .success(packet)
        }
        // Text while attachments are due: the reference parser refuses it too.
        guard pending == nil else { return .failure(.illegalAttachments) }
        switch SocketIOPacket.decode(String(buffer: message.payload), maxAttachments: maxAttachments) {
        case .failure(let error):
            return .failure(error)
        case .success(let packet) where packet.kind.isBinary && packet.attachments > 0:
            pending = Pending(packet)
            return .success(nil)
        case .success(let packet):
            return .success(packet)
        }
    }
}
