public import NIOCore

/// The server's way to the application's back end (`native.rpc_url`): one JSON `POST`, its answer.
/// Implemented in SwitchboardServer on NIOPosix (`HTTPClient`): the front-end modules open no sockets.
public protocol BackendCaller: Sendable {
    /// POSTs `body` (JSON) to `url`; fails on a connection error or after `timeout`.
    func post(
        _ url: HTTPURL,
        body: ByteBuffer,
        timeout: TimeAmount,
        on eventLoop: any EventLoop
    )
        -> EventLoopFuture<BackendResponse>
}

/// The back end's answer.
public struct BackendResponse: Sendable {
    public var status: Int
    public var body: ByteBuffer

    public init(status: Int, body: ByteBuffer) {
        self.status = status
        self.body = body
    }
}

/// Why the back end could not be asked.
public enum BackendError: Error, Sendable {
    case timeout
    case connectionFailed(String)
    case responseTooLarge
}
