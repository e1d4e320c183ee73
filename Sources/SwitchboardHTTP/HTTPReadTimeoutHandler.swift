import NIOCore

/// Runs ``HTTPReadTimeouts`` on a connection: first in the pipeline, it sees the client's bytes before
/// the HTTP decoder does (a request's first byte starts its clock), and ``HTTPHandler`` tells it when a
/// head, a request's end and an answer went by. One scheduled task, moved only when the deadline comes
/// earlier; a later deadline is found when the task fires. Removed when the connection stops being
/// request/response (a WebSocket, a stream).
final class HTTPReadTimeoutHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private var timeouts: HTTPReadTimeouts
    private var context: ChannelHandlerContext?
    private var check: Scheduled<Void>?
    private var checkAt: NIODeadline?

    init(headerTimeout: TimeAmount, idleTimeout: TimeAmount) {
        self.timeouts = HTTPReadTimeouts(headerTimeout: headerTimeout, idleTimeout: idleTimeout, now: .now())
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        schedule()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        check?.cancel()
        check = nil
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        timeouts.bytesReceived(now: .now())
        schedule()
        context.fireChannelRead(data)
    }

    // MARK: Told by HTTPHandler

    func headReceived(expectsBody: Bool) {
        timeouts.headReceived(expectsBody: expectsBody, now: .now())
        schedule()
    }

    func requestEnded() {
        timeouts.requestEnded()
    }

    func responseSent(keepAlive: Bool) {
        timeouts.responseSent(keepAlive: keepAlive, now: .now())
        schedule()
    }

    // MARK: The timer

    private func schedule() {
        guard let context, let deadline = timeouts.deadline else { return }
        if let checkAt, checkAt <= deadline, check != nil { return }  // it fires first and looks again
        check?.cancel()
        checkAt = deadline
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        check = context.eventLoop.scheduleTask(deadline: deadline) { handler.value.fired() }
    }

    private func fired() {
        check = nil
        checkAt = nil
        guard let context else { return }
        switch timeouts.expiry(now: .now()) {
        case nil:
            schedule()
        case .idleConnection:
            context.close(promise: nil)
        case .slowRequest:
            // Written below the HTTP encoder, straight to the socket: the request was never complete.
            let body =
                #"{"error":"the request did not arrive in time (limits.header_timeout, limits.idle_timeout)","code":"request_timeout"}"#
            var answer = context.channel.allocator.buffer(capacity: 256)
            answer.writeString(
                "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\nContent-Length: \(body.utf8.count + 1)\r\nConnection: close\r\n\r\n\(body)\n"
            )
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
            timeouts.closing(now: .now())
            schedule()
        }
    }
}
