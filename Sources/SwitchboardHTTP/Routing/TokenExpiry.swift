import NIOCore
import SwitchboardCore
import SwitchboardWebSocket

/// Ends a connection a signed token opened (a subscription, a native or bridged socket) when the token
/// expires: the protocol in charge hears ``TokenExpiredEvent`` and says goodbye its way; a peer that does
/// not take the goodbye in is cut off after ``HTTPService/goodbyeTimeout``.
enum TokenExpiry {
    /// `expiresAt`: milliseconds since the Unix epoch; nil: never.
    static func close(_ channel: any Channel, at expiresAt: Int64?) {
        guard let expiresAt else { return }
        let expiry = channel.eventLoop.scheduleTask(in: WallClock.delay(until: expiresAt)) {
            channel.pipeline.fireUserInboundEventTriggered(TokenExpiredEvent())
            channel.eventLoop.scheduleTask(in: HTTPService.goodbyeTimeout) { channel.close(promise: nil) }
        }
        channel.closeFuture.whenComplete { _ in expiry.cancel() }
    }
}
