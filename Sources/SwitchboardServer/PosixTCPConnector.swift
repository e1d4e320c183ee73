public import NIOCore
import NIOPosix
public import SwitchboardCore

/// ``TCPConnector`` on NIOPosix: the bridge's connections to its targets.
public struct PosixTCPConnector: TCPConnector {
    public init() {}

    public func connect(
        host: String,
        port: Int,
        timeout: TimeAmount,
        on eventLoop: any EventLoop,
        initializer: @escaping @Sendable (any Channel) -> EventLoopFuture<Void>
    ) -> EventLoopFuture<any Channel> {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelOption(.allowRemoteHalfClosure, value: true)
            .channelInitializer(initializer)
            .connect(host: host, port: port)
    }
}
