public import NIOCore

/// Opens outgoing TCP connections (the bridge's targets). Implemented in SwitchboardServer on NIOPosix:
/// the front-end modules open no sockets themselves. A connection has `TCP_NODELAY` on and allows a
/// half-close by the remote side (the bridge passes a target's end of stream on).
public protocol TCPConnector: Sendable {
    /// Connects to `host`:`port` from `eventLoop`, runs `initializer` on the new channel, and fails after
    /// `timeout`.
    func connect(
        host: String,
        port: Int,
        timeout: TimeAmount,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel>
}
