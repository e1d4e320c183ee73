import NIOCore
import SwitchboardHTTP

/// Where a ``NativeConnection``'s replies and pushes go: a WebSocket or an SSE stream
/// (``NativeChannelHandler``), or the queue that long-polls drain (``NativeLongPollSession``). Used on
/// the connection's event loop only.
protocol NativeTransport: AnyObject {
    /// How a JSON message is framed for this transport (and which hub wire format it shares).
    var framing: NativeFraming { get }
    var allocator: ByteBufferAllocator { get }
    /// False when the client reads too slowly: the connection is then ended as a slow consumer.
    var isWritable: Bool { get }
    /// Queues one framed message (``NativeFraming/frame(_:allocator:)``).
    func write(_ framed: ByteBuffer)
    /// Sends what was queued.
    func flush()
    /// Ends the transport after what was queued: a WebSocket close code, the end of the SSE response, or
    /// the long-poll session's last answer. The `disconnect` push before it carries the reason.
    func close(code: UInt16, reason: String)
}
