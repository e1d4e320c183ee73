import NIOCore

/// Reads a connection only while it can take more output: a client that pipelines requests (or sends
/// commands) and never reads the answers is not read either, so what waits for it stays bounded. The
/// first handler of every HTTP connection; the protocols behind it (WebSocket, STOMP) keep it.
///
/// Two things stop: asking the socket for more (a `read` while unwritable is held until the connection
/// drains — NIO's write-buffer water marks decide "unwritable"), and passing on what one read already
/// brought in. The latter goes on in slices of ``sliceSize`` bytes, each only while the connection is
/// writable, as one read can hold thousands of pipelined requests that are answered one after another
/// once they are past this handler.
final class ReadWhileWritableHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = NIOAny

    /// The most bytes passed on before writability is looked at again (at most a few dozen requests).
    static let sliceSize = 8192

    /// Bytes read but not passed on yet (at most one read's worth: no more is read meanwhile).
    private var held: ByteBuffer?
    /// A read was asked for while the connection was unwritable, or while bytes were held.
    private var heldRead = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if held == nil, bytes.readableBytes <= Self.sliceSize, context.channel.isWritable {
            context.fireChannelRead(data)  // the usual case: nothing waits, one small read
            return
        }
        if var earlier = held {
            earlier.writeBuffer(&bytes)
            held = earlier
        } else {
            held = bytes
        }
        passOn(context: context)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        // Always: the handlers behind flush the answers to what they were given here (unflushed answers
        // would keep the connection unwritable for ever).
        context.fireChannelReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable, held == nil {
            context.read()
        } else {
            heldRead = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.fireChannelWritabilityChanged()
        guard context.channel.isWritable else { return }
        if held != nil {
            passOn(context: context)
            context.fireChannelReadComplete()
        }
        if heldRead, held == nil, context.channel.isWritable {
            heldRead = false
            context.read()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        // What the peer sent before it went is still handled (a last request, a close frame).
        if let bytes = held {
            held = nil
            context.fireChannelRead(wrapInboundOut(bytes))
            context.fireChannelReadComplete()
        }
        context.fireChannelInactive()
    }

    /// Passes held bytes on, a slice at a time, while the connection can take the answers.
    private func passOn(context: ChannelHandlerContext) {
        while var bytes = held, context.channel.isWritable, context.channel.isActive {
            let slice = bytes.readSlice(length: min(Self.sliceSize, bytes.readableBytes))!
            held = bytes.readableBytes == 0 ? nil : bytes
            context.fireChannelRead(wrapInboundOut(slice))
        }
    }
}
