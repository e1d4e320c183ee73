import NIOCore

/// Installed instead of a protocol on a connection over `limits.max_connections` or
/// `limits.connections_per_address`: writes the protocol's refusal (an HTTP `503` with `Retry-After`, a
/// STOMP `ERROR`) and closes, without reading anything the client sends.
final class ConnectionRefusalHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let answer: ByteBuffer

    init(answer: ByteBuffer) {
        self.answer = answer
    }

    func channelActive(context: ChannelHandlerContext) {
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(answer)).whenComplete { _ in channel.close(promise: nil) }
        // A peer that does not read the refusal must not hold the slot it was refused.
        context.eventLoop.scheduleTask(in: .seconds(2)) { channel.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
