import Logging
import NIOCore

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// On a listener: when accepting fails for want of resources (no file descriptors left: EMFILE,
/// ENFILE; or memory: ENOBUFS, ENOMEM), stops listening for 100 ms instead of trying again at once.
///
/// The connection that could not be accepted stays in the backlog, so the listening socket stays
/// readable; NIO's own back-off delays the next read but leaves the socket registered, and the event
/// loop spins on it at 100% CPU (and answers nothing else). Turning `autoRead` off takes the socket out
/// of the poll set; turning it on again 100 ms later tries once more.
final class AcceptPauseHandler: ChannelInboundHandler {
    typealias InboundIn = any Channel

    private let logger: Logger
    private static let pause = TimeAmount.milliseconds(100)
    /// The log says it at most every 10 seconds (the pause comes back ten times a second).
    private var lastWarning: NIODeadline?

    init(logger: Logger) {
        self.logger = logger
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? IOError, [EMFILE, ENFILE, ENOBUFS, ENOMEM].contains(error.errnoCode) else {
            context.fireErrorCaught(error)
            return
        }
        let now = NIODeadline.now()
        if lastWarning.map({ now - $0 > .seconds(10) }) ?? true {
            lastWarning = now
            logger.warning(
                "cannot accept connections (\(error)); pausing 100 ms at a time",
                metadata: ["listener": "\(context.channel.localAddress.map { "\($0)" } ?? "?")"]
            )
        }
        let channel = context.channel
        channel.setOption(ChannelOptions.autoRead, value: false).whenSuccess {
            channel.eventLoop.scheduleTask(in: Self.pause) {
                channel.setOption(ChannelOptions.autoRead, value: true).whenFailure { _ in }
            }
        }
    }
}
