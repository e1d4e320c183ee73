import NIOCore

/// One benchmark STOMP connection (a producer or a consumer). Everything runs on the benchmark's single
/// event loop; frames go to ``STOMPBenchRun``.
final class STOMPBenchConnection: ChannelInboundHandler, @unchecked Sendable {
    // @unchecked: made on the benchmark's event loop and only used there.
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Role {
        case producer(Int)
        case consumer(Int)
    }

    let role: Role
    // Strong: the run and its connections live as long as the benchmark process.
    let run: STOMPBenchRun
    private var reader = STOMPWireReader()
    private(set) var context: ChannelHandlerContext?
    private var needsFlush = false

    init(role: Role, run: STOMPBenchRun) {
        self.role = role
        self.run = run
    }

    func channelActive(context: ChannelHandlerContext) {
        self.context = context
        run.connectionActive(self)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        run.connectionClosed(self)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        reader.append(&bytes)
        let now = Clock.nanos()
        while let frame = reader.next() {
            run.frameReceived(frame, on: self, now: now)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        flush()
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        run.failed("connection error: \(error)")
        context.close(promise: nil)
    }

    /// Queues a frame; ``flush()`` sends what is queued.
    func write(_ frame: ByteBuffer) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        needsFlush = true
    }

    func flush() {
        guard needsFlush, let context else { return }
        needsFlush = false
        context.flush()
    }

    /// A client frame with `headers` and `body`, as bytes.
    static func frame(
        _ command: String,
        _ headers: [(String, String)],
        body: ByteBuffer? = nil,
        allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: 96 + (body?.readableBytes ?? 0))
        buffer.writeString(command)
        buffer.writeInteger(UInt8(ascii: "\n"))
        for (name, value) in headers {
            buffer.writeString(name)
            buffer.writeInteger(UInt8(ascii: ":"))
            buffer.writeString(value)
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        if var body {
            buffer.writeString("content-length:\(body.readableBytes)\n\n")
            buffer.writeBuffer(&body)
        } else {
            buffer.writeInteger(UInt8(ascii: "\n"))
        }
        buffer.writeInteger(UInt8(0))
        return buffer
    }
}
