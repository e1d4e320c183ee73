import NIOCore
import NIOWebSocket
import SwitchboardHTTP
import SwitchboardWebSocket

/// How the native protocol's replies and pushes travel: one WebSocket text frame each; or — the fallbacks
/// for networks that block WebSocket — one Server-Sent Event each (`data: <json>`) on a chunked response,
/// or bare JSON that a long-poll answer gathers into an array. On both fallbacks commands arrive by
/// `POST /connection/send`.
enum NativeFraming: Sendable {
    case webSocket
    case sse
    case longPoll

    /// `json` framed for the transport.
    func frame(_ json: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        switch self {
        case .webSocket:
            return WebSocketFrameWriter.frame(opcode: .text, payload: json, allocator: allocator)
        case .sse:
            var buffer = allocator.buffer(capacity: json.readableBytes + 24)
            ChunkedEncoding.writeChunk(into: &buffer) { chunk in
                chunk.writeStaticString("data: ")
                chunk.writeImmutableBuffer(json)
                chunk.writeStaticString("\n\n")
            }
            return buffer
        case .longPoll:
            return json
        }
    }
}
